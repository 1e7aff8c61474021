// Package vip adds and removes virtual IP addresses through rtnetlink, marks them as
// lvskit's own, watches them, and announces them with gratuitous ARP and unsolicited
// neighbour advertisements.
package vip
