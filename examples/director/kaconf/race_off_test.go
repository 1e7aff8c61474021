//go:build !race

package kaconf

const raceEnabled = false
