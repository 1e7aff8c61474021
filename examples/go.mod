module github.com/lvskit/lvskit/examples

go 1.25.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/lvskit/lvskit v0.0.0
	github.com/mdlayher/packet v1.1.2
	golang.org/x/sys v0.47.0
)

require (
	github.com/josharian/native v1.1.0 // indirect
	github.com/mdlayher/genetlink v1.4.0 // indirect
	github.com/mdlayher/netlink v1.11.2 // indirect
	github.com/mdlayher/socket v0.6.1 // indirect
	golang.org/x/net v0.58.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
)

replace github.com/lvskit/lvskit => ../
