package kaconf_test

import (
	"fmt"
	"testing/fstest"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

func ExampleRead() {
	fsys := fstest.MapFS{"keepalived.conf": {Data: []byte(`
vrrp_instance VI_1 {
   state BACKUP
   interface eth0
   virtual_router_id 51
   advert_int 0.5
   version 3
   virtual_ipaddress {
      192.0.2.10/24 dev eth0 label eth0:vip
   }
}
virtual_server 192.0.2.10 80 {
   protocol TCP
   lb_kind DR
   real_server 198.51.100.1 80 {
      TCP_CHECK {
         nb_get_retry 3   # the old name, unknown to keepalived 2.2.7 in TCP_CHECK
      }
   }
}
`)}}
	cfg, warnings, err := kaconf.Read(fsys, "keepalived.conf")
	if err != nil {
		fmt.Println(err)
		return
	}
	in := cfg.Instances[0]
	fmt.Println(in.Name, in.State, in.Priority, in.AdvertInt, in.VIPs[0].Prefix, in.VIPs[0].Label)
	chk := cfg.VirtualServers[0].RealServers[0].Checks[0]
	fmt.Println(chk.Type, chk.ConnectIP, chk.ConnectPort, chk.ConnectTimeout, chk.Retry, chk.DelayLoop)
	for _, w := range warnings {
		fmt.Println(w.Pos, w.Keyword)
	}
	// Output:
	// VI_1 BACKUP 100 500ms 192.0.2.10/24 eth0:vip
	// TCP_CHECK 198.51.100.1 80 5s 3 1m0s
	// keepalived.conf:17 nb_get_retry
}

func ExampleRead_errors() {
	fsys := fstest.MapFS{"keepalived.conf": {Data: []byte(`vrrp_instance VI_1 {
   interface eth0
   virtual_router_id 300
   use_ipvlan
}
`)}}
	cfg, _, err := kaconf.Read(fsys, "keepalived.conf")
	fmt.Println(cfg == nil)
	fmt.Println(err)
	// Output:
	// true
	// kaconf: keepalived.conf:3: virtual_router_id: bad value: 300 is out of range 1..255
	// kaconf: keepalived.conf:4: use_ipvlan: unknown or unsupported keyword: not a keyword of vrrp_instance
}
