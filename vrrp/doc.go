// Package vrrp is part of lvskit; see the repository README.
package vrrp
