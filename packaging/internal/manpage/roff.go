package manpage

import (
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Page is one manual page.
type Page struct {
	// Name is the program's name: "director".
	Name string
	// Section is the manual section; zero means 8 (system administration).
	Section int
	// Source is the footer's source field, the project and version: "lvskit 0.1.0".
	Source string
	// Summary is the NAME line's text after the dash.
	Summary string
	// Synopsis lines, each shown as written; empty means "Name [options]".
	Synopsis []string
	// Description paragraphs.
	Description []string
	// Options of the program.
	Options []Option
	// OptionsNote is a paragraph after the options; empty means none.
	OptionsNote string
	// SeeAlso lists other pages as "name(section)".
	SeeAlso []string
}

// FromDoc fills Summary, Synopsis and Description from the package comment of the Go
// package in dir (the command's doc.go or main.go): Summary is the first sentence
// without its "Command NAME is" opening, Description the first paragraph and
// Synopsis the first indented (code) block.
func FromDoc(p *Page, dir string) error {
	doc, err := packageDoc(dir)
	if err != nil {
		return err
	}
	var paras [][]string
	var cur []string
	for _, line := range strings.Split(doc, "\n") {
		if strings.TrimSpace(line) == "" {
			if cur != nil {
				paras = append(paras, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if cur != nil {
		paras = append(paras, cur)
	}
	if len(paras) == 0 {
		return fmt.Errorf("manpage: %s has no package comment", dir)
	}
	first := strings.Join(paras[0], " ")
	p.Description = []string{first}
	p.Summary = summary(first, p.Name)
	for _, para := range paras {
		if strings.HasPrefix(para[0], "\t") {
			for _, l := range para {
				p.Synopsis = append(p.Synopsis, strings.TrimPrefix(l, "\t"))
			}
			break
		}
	}
	return nil
}

func packageDoc(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("manpage: %w", err)
	}
	fset := token.NewFileSet()
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return "", fmt.Errorf("manpage: %w", err)
		}
		if f.Doc != nil && (n == "doc.go" || strings.HasPrefix(f.Doc.Text(), "Command ")) {
			return f.Doc.Text(), nil
		}
	}
	return "", fmt.Errorf("manpage: no package comment in %s", dir)
}

// summary turns "Command director is a keepalived-compatible LVS director ...: it
// reads ..." into "a keepalived-compatible LVS director ...": the first sentence or
// the part before its first colon, without the "Command NAME is" opening.
func summary(para, name string) string {
	s := para
	for _, end := range []string{". ", ": "} {
		if i := strings.Index(s, end); i >= 0 {
			s = s[:i]
		}
	}
	s = strings.TrimSuffix(s, ".")
	s = strings.TrimPrefix(s, "Command "+name+" is ")
	s = strings.TrimPrefix(s, "Command "+name+" ")
	return s
}

// Write renders the page in roff (man macros).
func (p *Page) Write(w io.Writer) error {
	sec := p.Section
	if sec == 0 {
		sec = 8
	}
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s %d \"\" %s \"System Administration\"\n", strings.ToUpper(p.Name), sec, quoteArg(p.Source))
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", escape(p.Name), escape(p.Summary))
	b.WriteString(".SH SYNOPSIS\n")
	if len(p.Synopsis) == 0 {
		fmt.Fprintf(&b, ".B %s\n[options]\n", escape(p.Name))
	} else {
		b.WriteString(".nf\n")
		for _, l := range p.Synopsis {
			b.WriteString(line(l))
		}
		b.WriteString(".fi\n")
	}
	if len(p.Description) > 0 {
		b.WriteString(".SH DESCRIPTION\n")
		for i, d := range p.Description {
			if i > 0 {
				b.WriteString(".PP\n")
			}
			b.WriteString(line(d))
		}
	}
	if len(p.Options) > 0 {
		b.WriteString(".SH OPTIONS\n")
		for _, o := range p.Options {
			b.WriteString(".TP\n")
			var names []string
			if o.Name != "" {
				names = append(names, `\fB\-`+escape(o.Name)+`\fR`)
			}
			if o.Long != "" {
				names = append(names, `\fB\-\-`+escape(o.Long)+`\fR`)
			}
			head := strings.Join(names, ", ")
			if o.Arg != "" {
				head += ` \fI` + escape(o.Arg) + `\fR`
			}
			b.WriteString(head + "\n")
			usage := o.Usage
			if usage == "" {
				usage = "(no description)"
			}
			for i, u := range strings.Split(usage, "\n") {
				if i > 0 {
					b.WriteString(".br\n")
				}
				b.WriteString(line(u))
			}
			if o.Default != "" {
				b.WriteString(".br\n" + line("Default: "+o.Default))
			}
		}
		if p.OptionsNote != "" {
			b.WriteString(".PP\n" + line(p.OptionsNote))
		}
	}
	if len(p.SeeAlso) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		var refs []string
		for _, s := range p.SeeAlso {
			name, sec, _ := strings.Cut(strings.TrimSuffix(s, ")"), "(")
			refs = append(refs, `\fB`+escape(name)+`\fR(`+escape(sec)+`)`)
		}
		b.WriteString(strings.Join(refs, ",\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// escape makes text safe inside a roff line: backslashes and dashes (so that
// options stay searchable and print as ASCII hyphen-minus).
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// line is one text line, guarded against a leading control character.
func line(s string) string {
	s = escape(strings.TrimRight(s, " \t"))
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s + "\n"
}

func quoteArg(s string) string {
	return `"` + strings.ReplaceAll(escape(s), `"`, `\(dq`) + `"`
}
