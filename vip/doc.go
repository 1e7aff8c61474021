// Package vip is part of lvskit; see the repository README.
package vip
