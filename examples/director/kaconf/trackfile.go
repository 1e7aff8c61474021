package kaconf

import (
	"fmt"
	"strconv"
)

// TrackFileRef is one line of a vrrp_instance's or vrrp_sync_group's track_file
// block: a top-level track_file whose value moves the instance's priority, as
// keepalived 2.2.7 does (vrrp_track.c): with Weight 0 a non-zero value puts the
// instance in FAULT (with Reverse, a zero value does); otherwise value*Weight
// (negated with Reverse) is added to the priority, and a sum of -254 or less means
// FAULT.
type TrackFileRef struct {
	Pos  Pos
	Name string
	// Weight is the effective weight, -254..254: the line's "weight N" if given,
	// otherwise the track_file's. Reverse is resolved the same way.
	Weight  int
	Reverse bool
}

// trackFileLine reads one line of a track_file block: NAME [weight N
// [reverse|noreverse]]. The weight is resolved later (resolveTrackFileRefs).
func trackFileLine(d *decoder, n *node, refs *[]TrackFileRef, raw *[]trackRef) {
	ref := TrackFileRef{Pos: n.pos, Name: n.key}
	args := n.args
	set := false
	if len(args) > 0 {
		if args[0].text != "weight" || len(args) < 2 || len(args) > 3 {
			d.errf(n, ErrSyntax, "expected %s [weight N [reverse|noreverse]] in track_file", n.key)
			return
		}
		w, ok := d.integer(n, args[1].text, -254, 254)
		if !ok {
			return
		}
		ref.Weight, set = w, true
		if len(args) == 3 {
			switch args[2].text {
			case "reverse":
				ref.Reverse = true
			case "noreverse":
			default:
				d.errf(n, ErrValue, "%q is not reverse or noreverse", args[2].text)
				return
			}
		}
	}
	*refs = append(*refs, ref)
	*raw = append(*raw, trackRef{n: n, weightSet: set})
}

// resolveTrackFileRefs checks the track_file lines of instances and sync groups
// against the top-level track_files and fills in their default weights; cfg's
// Instances and SyncGroups are in the order of insts and groups. As keepalived 2.2.7
// (vrrp.c), an address owner (priority 255) or a sync group member cannot have a
// weighted track_file of its own: the default weight 1 becomes 0, any other weight
// drops the line; a sync group with an owner among its members has its weights set
// to 0. Each change is a warning.
func resolveTrackFileRefs(d *decoder, tfs map[string]*TrackFile, insts []*instRaw, groups []*groupRaw, cfg *Config) {
	resolve := func(owner string, refs []TrackFileRef, raw []trackRef) []TrackFileRef {
		return resolveWeightRefs(d, "track_file", "top-level track_file", owner, refs, raw, func(name string) (int, bool, bool) {
			tf := tfs[name]
			if tf == nil {
				return 0, false, false
			}
			return tf.Weight, tf.Reverse, true
		})
	}
	inGroup := map[string]bool{}
	prio := map[string]int{}
	for i, r := range insts {
		if i < len(cfg.Instances) {
			prio[r.in.Name] = cfg.Instances[i].Priority
		}
	}
	for j, g := range groups {
		if j >= len(cfg.SyncGroups) {
			break
		}
		owner := false
		for _, n := range g.names {
			inGroup[n.key] = true
			owner = owner || prio[n.key] == 255
		}
		sg := &cfg.SyncGroups[j]
		sg.TrackFiles = resolve("vrrp_sync_group "+sg.Name, sg.TrackFiles, g.tfiles)
		for k := range sg.TrackFiles {
			if t := &sg.TrackFiles[k]; owner && t.Weight != 0 {
				d.warn(&node{pos: t.Pos, key: t.Name}, fmt.Sprintf("vrrp_sync_group %s has a member with priority 255: weight %d of track_file %s read as 0, as keepalived 2.2.7", sg.Name, t.Weight, t.Name))
				t.Weight = 0
			}
		}
	}
	for i, r := range insts {
		if i >= len(cfg.Instances) {
			break
		}
		in := &cfg.Instances[i]
		refs := resolve("vrrp_instance "+in.Name, in.TrackFiles, r.tfiles)
		why := ""
		switch {
		case inGroup[in.Name]:
			why = "it is in a sync group"
		case in.Priority == 255:
			why = "it has priority 255"
		}
		in.TrackFiles = refs[:0]
		for _, t := range refs {
			n := &node{pos: t.Pos, key: t.Name}
			switch {
			case why == "" || t.Weight == 0:
			case t.Weight == 1:
				d.warn(n, fmt.Sprintf("vrrp_instance %s: %s, so track_file %s's default weight 1 is read as 0 (keepalived 2.2.7 does the same; write weight 0)", in.Name, why, t.Name))
				t.Weight = 0
			default:
				d.warn(n, fmt.Sprintf("vrrp_instance %s: %s, so track_file %s with weight %d is ignored, as keepalived 2.2.7 does", in.Name, why, t.Name, t.Weight))
				continue
			}
			in.TrackFiles = append(in.TrackFiles, t)
		}
		if len(in.TrackFiles) == 0 {
			in.TrackFiles = nil
		}
	}
}

// formatTrackFileRefs writes a track_file block of instance or sync group lines.
func formatTrackFileRefs(w *writer, refs []TrackFileRef) {
	if len(refs) == 0 {
		return
	}
	w.open("track_file")
	for _, t := range refs {
		parts := []string{word(t.Name), "weight", strconv.Itoa(t.Weight)}
		if t.Reverse {
			parts = append(parts, "reverse")
		}
		w.line(parts...)
	}
	w.close()
}
