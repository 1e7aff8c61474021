// Package arpctl is part of lvskit; see the repository README.
package arpctl
