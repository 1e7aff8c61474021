package kaconf

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// TestKeywordsAreAccepted checks that every keyword Keywords lists for a block is
// accepted there (given a plausible value) and that a made-up one is not, so the list
// a migration guide is checked against cannot promise more than the reader does.
func TestKeywordsAreAccepted(t *testing.T) {
	kw := Keywords()
	for _, block := range []string{"global_defs", "vrrp_script", "vrrp_instance", "virtual_server", "real_server", "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "url", "authentication", "vrrp_sync_group"} {
		if len(kw[block]) == 0 {
			t.Errorf("Keywords()[%q] is empty", block)
		}
	}
	for _, k := range []string{"nb_get_retry", "retry", "connect_timeout", "delay_before_retry", "bindto", "warmup", "connect_ip", "connect_port"} {
		if !contains(kw["TCP_CHECK"], k) {
			t.Errorf("TCP_CHECK lacks %s", k)
		}
	}
	for _, k := range []string{"misc_path", "misc_timeout", "misc_dynamic", "user"} {
		if !contains(kw["MISC_CHECK"], k) {
			t.Errorf("MISC_CHECK lacks %s", k)
		}
	}
	// Every instance keyword is recognised (the error, if any, is about its value or
	// shape, never ErrUnknownKeyword).
	for _, k := range kw["vrrp_instance"] {
		src := fmt.Sprintf("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n %s\n}\n", k)
		_, _, err := Read(fstest.MapFS{"k.conf": {Data: []byte(src)}}, "k.conf")
		if err != nil && strings.Contains(err.Error(), ErrUnknownKeyword.Error()) {
			t.Errorf("vrrp_instance keyword %s: %v", k, err)
		}
	}
	_, _, err := Read(fstest.MapFS{"k.conf": {Data: []byte("global_defs {\n not_a_keyword\n}\n")}}, "k.conf")
	if err == nil || !strings.Contains(err.Error(), "k.conf:2: not_a_keyword") {
		t.Errorf("made-up keyword: err = %v", err)
	}
}
