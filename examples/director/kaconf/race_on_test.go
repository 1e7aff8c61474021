//go:build race

package kaconf

// raceEnabled: the race detector multiplies memory, so TestReadMemory skips.
const raceEnabled = true
