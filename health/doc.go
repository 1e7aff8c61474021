// Package health is part of lvskit; see the repository README.
package health
