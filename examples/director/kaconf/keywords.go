package kaconf

import "sort"

// Keywords returns the keywords the reader supports, per block. The keys are block
// names ("" for the top level, then "global_defs", "vrrp_script", "vrrp_instance",
// "authentication", "vrrp_sync_group", "virtual_server", "real_server", "TCP_CHECK",
// "HTTP_GET", "SSL_GET", "MISC_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK",
// "SMTP_CHECK", "FILE_CHECK", "url", "track_file", "vrrp_track_file", "vrrp_track_process")
// and the options of the line-valued blocks ("virtual_ipaddress", "track_script",
// "track_interface", "lvs_sync_daemon", "virtual_routes", "static_routes",
// "virtual_rules", "static_rules", "static_ipaddress").
// Each list is sorted. The lists are built from the tables the reader itself uses,
// so documentation checked against them cannot drift from the code. "include" is
// accepted anywhere, in every block.
func Keywords() map[string][]string {
	m := map[string][]string{
		"":                topTable().keywords(),
		"global_defs":     globalTable().keywords(),
		"vrrp_script":     scriptTable().keywords(),
		"vrrp_instance":   instanceTable().keywords(),
		"authentication":  authTable().keywords(),
		"vrrp_sync_group": syncGroupTable().keywords(),
		"virtual_server":  vsTable().keywords(),
		"real_server":     rsTable().keywords(),
		"url":             urlTable().keywords(),
		// The options that may follow the first word of these blocks' lines.
		"virtual_ipaddress": {"brd", "broadcast", "dev", "label", "no_track", "scope"},
		"track_script":      {"no_reverse", "reverse", "weight"},
		"track_interface":   {"noreverse", "reverse", "weight"},
		"lvs_sync_daemon":   {"group", "id", "inst", "maxlen", "port", "ttl"},
		"lvs_timeouts":      {"tcp", "tcpfin", "udp"},
		// The words of a virtual_routes or static_routes line (vroutes.go).
		"virtual_routes": routeWords(),
		"static_routes":  routeWords(),
		// The words of a virtual_rules or static_rules line (vrules.go).
		"virtual_rules": ruleWords(),
		"static_rules":  ruleWords(),
		// static_ipaddress lines are virtual_ipaddress lines.
		"static_ipaddress": {"brd", "broadcast", "dev", "label", "no_track", "scope"},
	}
	m[""] = append(m[""], "include")
	sort.Strings(m[""])
	m["track_file"] = trackFileTable().keywords()
	m["vrrp_track_file"] = m["track_file"]
	m["vrrp_track_process"] = trackProcTable().keywords()
	for _, ct := range checkTypes {
		m[string(ct)] = checkTable(ct).keywords()
	}
	return m
}
