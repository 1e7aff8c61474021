package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config describes one VRRP instance (keepalived's vrrp_instance). The zero value of
// each field is its default, as its comment says; VRID, Primary and Addrs are required.
type Config struct {
	// Name identifies the instance in events and snapshots. Zero means "vrid-N".
	Name string
	// Version is 2 (RFC 3768, IPv4 only) or 3 (RFC 9568). Zero means 3.
	Version int
	// VRID is the virtual router ID, 1..255. Required. It is unique per link.
	VRID uint8
	// Priority is the base priority: 255 for the address owner, 1..254 otherwise.
	// Zero means 100, the RFC's default for backups.
	Priority uint8
	// AdvertInterval is the advertisement interval. Version 2 carries whole seconds
	// (1 s..255 s); version 3 carries centiseconds (10 ms..40.95 s). Zero means 1 s.
	// A value the version cannot encode is an error, never rounded (keepalived sends a
	// fractional v2 interval as 0).
	AdvertInterval time.Duration
	// Primary is the local primary address: the source of adverts and the
	// tie-breaker between equal priorities. For IPv6 it must be link-local. Required.
	Primary netip.Addr
	// Addrs are the virtual addresses, of Primary's family: at least one with
	// version 3; version 2 may have none (RFC 3768's count has no minimum, and
	// keepalived runs such an instance, its adverts carrying no address). For IPv6,
	// RFC 9568 wants the first to be a link-local address.
	Addrs []netip.Addr
	// Peers are the unicast peers (keepalived's unicast_peer). Empty means multicast
	// to 224.0.0.18 or ff02::12. When set, adverts from other sources are dropped.
	Peers []netip.Addr
	// NoPreempt keeps a higher-priority Backup from taking over from a running Master
	// (keepalived's nopreempt). Zero means preempt, as the RFC's default. The address
	// owner (priority 255) always preempts.
	NoPreempt bool
	// PreemptDelay holds preemption back for this long after the first lower-priority
	// advert from the current Master (0..1000 s, keepalived's preempt_delay). Zero
	// means preempt at once. Only with preemption on.
	PreemptDelay time.Duration
	// StartAsMaster makes the instance become Master at startup instead of Backup,
	// like keepalived's "state MASTER". A higher-priority Master that exists takes the
	// role back at its next advert. Not allowed with NoPreempt. Zero means start as
	// Backup (the owner always starts as Master).
	StartAsMaster bool
	// AcceptMode lets a Master that does not own the addresses accept packets for
	// them (RFC 9568 Accept_Mode; version 3 only). Zero means false, the RFC default.
	// The engine only reports it; applying it is the address layer's job.
	AcceptMode bool
	// AuthPass is the VRRPv2 simple password (keepalived's auth_type PASS), at most 8
	// bytes. It travels in clear text and provides NO security: it only keeps routers
	// configured differently apart. Empty means no authentication. Version 2 only.
	AuthPass string
	// Checksum is the checksum form sent in v3 IPv4 adverts. Zero means
	// ChecksumPseudoHeader, which keepalived expects by default. Both forms are accepted
	// on receive.
	Checksum ChecksumForm
	// NoLowerPriorityAdvert stops a Master from re-advertising at once when it
	// receives an advert of lower priority (RFC 9568 6.4.3; keepalived's
	// lower_prio_no_advert). Zero means re-advertise.
	NoLowerPriorityAdvert bool
	// Trackers adjust the priority or force FAULT; see TrackerConfig. Feed them with
	// Machine.Track or Router.Track.
	Trackers []TrackerConfig
	// SyncGroup names the sync group the instance belongs to (keepalived's
	// vrrp_sync_group): a Router moves all members of a group together. Empty means
	// none.
	SyncGroup string
}

// TrackerConfig describes a tracked condition: a script, a function, a file, another
// interface, a health check. Users feed results; the engine applies rise and fall.
type TrackerConfig struct {
	// Name identifies the tracker in errors and snapshots.
	Name string
	// Weight, -253..253, is added to the priority while the tracker is up when
	// positive, and added (so subtracted) while it is down when negative. Zero means
	// that a down tracker puts the instance in FAULT.
	Weight int
	// Rise is the number of consecutive good results that bring a down tracker up.
	// Zero means 1.
	Rise int
	// Fall is the number of consecutive bad results that bring an up tracker down.
	// Zero means 1.
	Fall int
	// InitiallyDown starts the tracker down. Zero means it starts up.
	InitiallyDown bool
}

// Limits of the configuration.
const (
	MaxPreemptDelay = 1000 * time.Second
	MaxWeight       = 253
)

// ErrInvalidConfig is wrapped by every configuration error.
var ErrInvalidConfig = errors.New("vrrp: invalid configuration")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// withDefaults returns a copy of c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.Version == 0 {
		c.Version = 3
	}
	if c.Priority == 0 {
		c.Priority = 100
	}
	if c.AdvertInterval == 0 {
		c.AdvertInterval = time.Second
	}
	if c.Name == "" {
		c.Name = fmt.Sprintf("vrid-%d", c.VRID)
	}
	c.Addrs = append([]netip.Addr(nil), c.Addrs...)
	c.Peers = append([]netip.Addr(nil), c.Peers...)
	c.Trackers = append([]TrackerConfig(nil), c.Trackers...)
	for i := range c.Trackers {
		if c.Trackers[i].Rise == 0 {
			c.Trackers[i].Rise = 1
		}
		if c.Trackers[i].Fall == 0 {
			c.Trackers[i].Fall = 1
		}
	}
	return c
}

// Validate reports the first problem with c (after applying defaults), as an error
// wrapping ErrInvalidConfig that names the field.
func (c *Config) Validate() error {
	d := c.withDefaults()
	_, err := d.validate()
	return err
}

// validate checks a defaulted config and returns the interval in centiseconds.
func (c *Config) validate() (uint16, error) {
	name := c.Name
	if c.Version != 2 && c.Version != 3 {
		return 0, configErr("%s: version %d: must be 2 or 3", name, c.Version)
	}
	if c.VRID == 0 {
		return 0, configErr("%s: VRID must be 1..255", name)
	}
	var cs uint16
	switch c.Version {
	case 2:
		if c.AdvertInterval%time.Second != 0 || c.AdvertInterval < time.Second || c.AdvertInterval > 255*time.Second {
			return 0, configErr("%s: version 2 advert interval %v: must be whole seconds, 1s..255s (fractions need version 3)", name, c.AdvertInterval)
		}
		cs = uint16(c.AdvertInterval / (10 * time.Millisecond))
	case 3:
		if c.AdvertInterval%(10*time.Millisecond) != 0 || c.AdvertInterval < 10*time.Millisecond || c.AdvertInterval > 4095*10*time.Millisecond {
			return 0, configErr("%s: version 3 advert interval %v: must be a multiple of 10ms, 10ms..40.95s", name, c.AdvertInterval)
		}
		cs = uint16(c.AdvertInterval / (10 * time.Millisecond))
	}
	if !c.Primary.IsValid() {
		return 0, configErr("%s: primary address is required", name)
	}
	is4 := c.Primary.Is4()
	if c.Version == 2 && !is4 {
		return 0, configErr("%s: version 2 is IPv4 only, primary address is %v", name, c.Primary)
	}
	if !is4 && !c.Primary.IsLinkLocalUnicast() {
		return 0, configErr("%s: IPv6 primary address %v must be link-local", name, c.Primary)
	}
	if c.Primary.Is4In6() {
		return 0, configErr("%s: primary address %v: use a plain IPv4 address", name, c.Primary)
	}
	if len(c.Addrs) == 0 && c.Version != 2 {
		return 0, configErr("%s: at least one virtual address is required with version 3", name)
	}
	if len(c.Addrs) > 255 {
		return 0, configErr("%s: %d virtual addresses: at most 255 fit in an advert", name, len(c.Addrs))
	}
	for _, a := range c.Addrs {
		if !a.IsValid() || a.Is4() != is4 || a.Is4In6() {
			return 0, configErr("%s: virtual address %v is not of the primary address's family", name, a)
		}
	}
	for _, p := range c.Peers {
		if !p.IsValid() || p.Is4() != is4 {
			return 0, configErr("%s: peer %v is not of the primary address's family", name, p)
		}
		if p.IsMulticast() {
			return 0, configErr("%s: peer %v is a multicast address", name, p)
		}
	}
	if c.NoPreempt && c.StartAsMaster {
		return 0, configErr("%s: nopreempt needs the initial state BACKUP", name)
	}
	if c.PreemptDelay < 0 || c.PreemptDelay > MaxPreemptDelay {
		return 0, configErr("%s: preempt delay %v: must be 0..1000s", name, c.PreemptDelay)
	}
	if c.PreemptDelay > 0 && c.NoPreempt {
		return 0, configErr("%s: preempt delay has no effect with nopreempt", name)
	}
	if c.AcceptMode && c.Version != 3 {
		return 0, configErr("%s: accept mode is a version 3 feature", name)
	}
	if c.AuthPass != "" && c.Version != 2 {
		return 0, configErr("%s: authentication exists only in version 2", name)
	}
	if len(c.AuthPass) > AuthDataLen {
		return 0, configErr("%s: password longer than %d bytes (keepalived would silently cut it)", name, AuthDataLen)
	}
	if c.Checksum > ChecksumNoPseudoHeader {
		return 0, configErr("%s: unknown checksum form %d", name, c.Checksum)
	}
	for _, t := range c.Trackers {
		if t.Weight < -MaxWeight || t.Weight > MaxWeight {
			return 0, configErr("%s: tracker %q weight %d: must be -253..253", name, t.Name, t.Weight)
		}
		if t.Rise < 1 || t.Fall < 1 {
			return 0, configErr("%s: tracker %q: rise and fall must be positive", name, t.Name)
		}
	}
	return cs, nil
}
