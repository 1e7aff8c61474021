// Package manpage writes section-8 manual pages in roff for lvskit's programs from
// what the programs themselves say: the flag list that Go's flag package prints for
// -h (ParseUsage), and the first paragraph and synopsis of the program's package
// comment (FromDoc).
//
// # Limits
//
// ParseUsage reads the format of flag.PrintDefaults, nothing else: a program with a
// parser of its own (ipvsctl) is described by a Page whose Options the caller fills
// in another way.
package manpage
