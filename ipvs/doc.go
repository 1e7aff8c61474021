// Package ipvs is part of lvskit; see the repository README.
package ipvs
