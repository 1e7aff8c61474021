package main

import (
	"context"
	"strings"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp"
)

// trackFileInterval is how often the track_files of VRRP instances are read
// (keepalived watches them with inotify).
const trackFileInterval = time.Second

// fileTrack is a track_file line of an instance or of its sync group: the file and
// how its value moves the priority.
type fileTrack struct {
	name, path string
	weight     int
	reverse    bool
}

// fileTrackers lists the trackers of an instance's track_file lines and of its sync
// group's. Each is a weight-0 tracker: down means FAULT; its offset
// (vrrp.Router.SetTrackerOffset) carries value*weight. It starts in the state the
// file's current value gives, so an instance whose file says FAULT never starts
// without it.
func fileTrackers(cfg *kaconf.Config, in *kaconf.Instance) []tracker {
	refs := append([]kaconf.TrackFileRef(nil), in.TrackFiles...)
	for _, g := range cfg.SyncGroups {
		for _, m := range g.Group {
			if m == in.Name {
				refs = append(refs, g.TrackFiles...)
			}
		}
	}
	var out []tracker
	for _, r := range refs {
		tf := cfg.TrackFile(r.Name)
		if tf == nil {
			continue
		}
		ft := &fileTrack{name: r.Name, path: tf.File, weight: r.Weight, reverse: r.Reverse}
		v, err := readTrackFile(ft.path)
		fault := false
		if err == nil {
			fault, _ = ft.status(v)
		}
		out = append(out, tracker{cfg: vrrp.TrackerConfig{Name: "file:" + r.Name, InitiallyDown: fault}, file: ft})
	}
	return out
}

// status turns a track file's value into its effect, as keepalived 2.2.7 does
// (vrrp_track.c): with weight 0 a non-zero value (with reverse, zero) is FAULT;
// otherwise value*weight, negated with reverse, is added to the priority, up to 253,
// and -254 or less is FAULT.
func (f *fileTrack) status(v int64) (fault bool, offset int) {
	if f.weight == 0 {
		return (v != 0) != f.reverse, 0
	}
	s := v * int64(f.weight)
	if f.reverse {
		s = -s
	}
	if s <= -254 {
		return true, 0
	}
	return false, int(min(s, 253))
}

// feedTrackFiles reads every track_file the running instances track and feeds the
// values to their trackers. Feeding an unchanged value changes nothing, so it runs
// on a timer and after every apply. A file whose value is out of range keeps its
// last effect, as keepalived keeps its last value.
func (v *vrrpRuntime) feedTrackFiles() {
	type fileFeed struct {
		r    *vrrp.Router
		name string
		i    int
		f    *fileTrack
	}
	var feeds []fileFeed
	v.mu.Lock()
	for name, in := range v.insts {
		if in.rr == nil {
			continue
		}
		for i, t := range in.rr.tracks[name] {
			if t.file != nil {
				feeds = append(feeds, fileFeed{in.rr.r, name, i, t.file})
			}
		}
	}
	v.mu.Unlock()
	type value struct {
		v   int64
		err error
	}
	read := map[string]value{}
	for _, f := range feeds {
		val, ok := read[f.f.path]
		if !ok {
			val.v, val.err = readTrackFile(f.f.path)
			read[f.f.path] = val
			if val.err != nil {
				v.log.Warn("track_file", "track_file", f.f.name, "file", f.f.path, "err", val.err)
			}
		}
		if val.err != nil {
			continue
		}
		fault, off := f.f.status(val.v)
		f.r.SetTrackerOffset(f.name, f.i, off)
		f.r.Track(f.name, f.i, !fault)
	}
}

// pollTrackFiles feeds the track_files every trackFileInterval until ctx ends.
func (v *vrrpRuntime) pollTrackFiles(ctx context.Context) {
	t := time.NewTicker(trackFileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v.feedTrackFiles()
		}
	}
}

// stableTrackers returns trackers without the InitiallyDown of track_file and
// track_process trackers, which is what a file or /proc said when the config was
// translated, not configuration: a reload must not restart a Router because a
// tracked file or process changed since it started.
func stableTrackers(ts []vrrp.TrackerConfig) []vrrp.TrackerConfig {
	out := append([]vrrp.TrackerConfig(nil), ts...)
	for i := range out {
		if strings.HasPrefix(out[i].Name, "file:") || strings.HasPrefix(out[i].Name, "process:") {
			out[i].InitiallyDown = false
		}
	}
	return out
}
