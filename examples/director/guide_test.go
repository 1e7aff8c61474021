package main

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
)

const guide = "../../docs/migrating-from-keepalived.md"

// guideRows returns the (block, keyword) pairs of the table under the level-2
// heading that starts with section: rows of the form | `block` | `keyword` | ... |.
func guideRows(t *testing.T, section string) [][2]string {
	t.Helper()
	if inGuest() {
		t.Skip("the kernel-test guest holds only the package's own testdata, not docs/")
	}
	f, err := os.Open(guide)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][2]string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## "+section)
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			t.Fatalf("malformed row %q", line)
		}
		// A row may list several blocks and several keywords, comma-separated
		// ("`a`, `b`"): it stands for each keyword in each block.
		for _, block := range guideCell(cells[1]) {
			if block == "(top level)" {
				block = ""
			}
			for _, kw := range guideCell(cells[2]) {
				rows = append(rows, [2]string{block, kw})
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no table rows under ## %s", guide, section)
	}
	return rows
}

// guideCell returns the comma-separated, backquoted words of a table cell.
func guideCell(cell string) []string {
	var ws []string
	for _, w := range strings.Split(cell, ",") {
		ws = append(ws, strings.Trim(strings.TrimSpace(w), "`"))
	}
	return ws
}

// TestMigrationGuideKeywords keeps docs/migrating-from-keepalived.md honest: its
// table of supported keywords equals kaconf.Keywords() both ways (no keyword missing
// from the guide, none listed that the reader does not accept), and every keyword
// its rejected table lists is absent from Keywords() and refused by the reader in
// that block with ErrUnknownKeyword.
func TestMigrationGuideKeywords(t *testing.T) {
	var want, got []string
	for block, kws := range kaconf.Keywords() {
		for _, k := range kws {
			want = append(want, block+" "+k)
		}
	}
	for _, r := range guideRows(t, "Supported keywords") {
		got = append(got, r[0]+" "+r[1])
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the guide's supported keywords differ from kaconf.Keywords() (-reader +guide):\n%s", diff)
	}

	snippet := map[string]string{
		"":              "KW x {\n}\n",
		"global_defs":   "global_defs {\n KW x\n}\n",
		"vrrp_instance": "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n KW x\n}\n",
		"real_server":   "virtual_server 192.0.2.10 80 {\n real_server 192.0.2.20 80 {\n KW {\n }\n }\n}\n",
		"SMTP_CHECK":    "virtual_server 192.0.2.10 25 {\n protocol TCP\n real_server 192.0.2.20 25 {\n SMTP_CHECK {\n KW {\n connect_ip 192.0.2.20\n }\n }\n }\n}\n",
		"url":           "virtual_server 192.0.2.10 80 {\n real_server 192.0.2.20 80 {\n HTTP_GET {\n url {\n path /\n KW x\n }\n }\n }\n}\n",
		"vrrp_sync_group": "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n}\n" +
			"vrrp_sync_group G {\n group {\n V\n }\n KW x\n}\n",
		"virtual_server": "virtual_server 192.0.2.10 80 {\n protocol TCP\n KW x\n real_server 192.0.2.20 80 {\n }\n}\n",
		// Blocks that are themselves refused: their keywords are refused with them.
		"SSL":        "SSL {\n KW x\n}\n",
		"garp_group": "garp_group {\n KW x\n}\n",
	}
	for _, ct := range []string{"TCP_CHECK", "HTTP_GET", "SSL_GET", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "MISC_CHECK"} {
		snippet[ct] = "virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 192.0.2.20 80 {\n " + ct + " {\n KW x\n }\n }\n}\n"
	}
	// Where a block is refused as a whole, the error names the block, not the
	// keyword inside it.
	refusedBlock := map[string]bool{"SSL": true, "garp_group": true}
	kw := kaconf.Keywords()
	for _, r := range guideRows(t, "Rejected keywords") {
		block, k := r[0], r[1]
		t.Run(block+"/"+k, func(t *testing.T) {
			if slices.Contains(kw[block], k) {
				t.Fatalf("listed as rejected but Keywords()[%q] has it", block)
			}
			src, ok := snippet[block]
			if !ok {
				t.Fatalf("no test snippet for block %q", block)
			}
			_, _, err := kaconf.Read(fstest.MapFS{"k.conf": {Data: []byte(strings.ReplaceAll(src, "KW", k))}}, "k.conf")
			named := k
			if refusedBlock[block] {
				named = block
			}
			if !errors.Is(err, kaconf.ErrUnknownKeyword) || !strings.Contains(err.Error(), named) {
				t.Errorf("reading %s in %q: err = %v, want ErrUnknownKeyword naming it", k, block, err)
			}
		})
	}
}
