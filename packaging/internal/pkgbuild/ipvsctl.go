package pkgbuild

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"

	"github.com/lvskit/lvskit/packaging/internal/manpage"
)

// ipvsctlArgs name the values of the options whose value ipvsctl's tokenizer treats
// specially (optional, or several words); every other option in its valued table
// takes one value.
var ipvsctlArgs = map[string]string{
	"p":   "[timeout]",
	"set": "tcp tcpfin udp",
}

// ipvsctlRefused are options ipvsctl knows only to refuse them.
var ipvsctlRefused = map[string]bool{"h": true, "v": true}

// ipvsctlOptions reads ipvsctl's options from its parser (parse.go), which has no
// usage text to read them from: shortOpts maps each short option to a token,
// longOpts each long one, and valued says which tokens take a value.
func ipvsctlOptions(path string) ([]manpage.Option, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("pkgbuild: %w", err)
	}
	tables := map[string]map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if len(vs.Names) != 1 || len(vs.Values) != 1 {
				continue
			}
			lit, ok := vs.Values[0].(*ast.CompositeLit)
			if !ok {
				continue
			}
			m := map[string]string{}
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					m[literal(kv.Key)] = literal(kv.Value)
				}
			}
			tables[vs.Names[0].Name] = m
		}
	}
	short, long, valued := tables["shortOpts"], tables["longOpts"], tables["valued"]
	if len(short) == 0 || len(long) == 0 || len(valued) == 0 {
		return nil, fmt.Errorf("pkgbuild: %s: no shortOpts, longOpts or valued table (has ipvsctl's parser changed?)", path)
	}
	byToken := map[string]*manpage.Option{}
	option := func(tok string) *manpage.Option {
		o := byToken[tok]
		if o == nil {
			o = &manpage.Option{}
			switch {
			case ipvsctlArgs[tok] != "":
				o.Arg = ipvsctlArgs[tok]
			case valued[tok] == "true":
				o.Arg = "value"
			}
			byToken[tok] = o
		}
		return o
	}
	// Sorted keys so that an option with two spellings of one kind (-L and -l) is
	// always shown with the same one, the upper-case one.
	for _, s := range sortedKeys(short) {
		if o := option(short[s]); o.Name == "" {
			o.Name = s
		}
	}
	for _, l := range sortedKeys(long) {
		if o := option(long[l]); o.Long == "" {
			o.Long = l
		}
	}
	var opts []manpage.Option
	for tok, o := range byToken {
		if !ipvsctlRefused[tok] {
			opts = append(opts, *o)
		}
	}
	// Commands (upper-case short options) first, then parameters, then long-only
	// options, as ipvsadm(8) orders them.
	sort.Slice(opts, func(i, j int) bool {
		if ri, rj := rank(opts[i]), rank(opts[j]); ri != rj {
			return ri < rj
		}
		return opts[i].Name+opts[i].Long < opts[j].Name+opts[j].Long
	})
	return opts, nil
}

func rank(o manpage.Option) int {
	switch {
	case o.Name == "":
		return 2
	case o.Name[0] >= 'A' && o.Name[0] <= 'Z':
		return 0
	}
	return 1
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// literal is the value of a string, rune or identifier (true) expression; "" for
// anything else.
func literal(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.BasicLit:
		switch e.Kind {
		case token.STRING:
			s, _ := strconv.Unquote(e.Value)
			return s
		case token.CHAR:
			r, _, _, err := strconv.UnquoteChar(e.Value[1:len(e.Value)-1], '\'')
			if err != nil {
				return ""
			}
			return string(r)
		}
	}
	return ""
}
