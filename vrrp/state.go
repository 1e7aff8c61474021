package vrrp

// State is a VRRP instance's state (RFC 9568 6.4), plus FAULT as keepalived has it.
type State uint8

// States of an instance.
const (
	// StateInit is the Initialize state: not started, or stopped.
	StateInit State = iota
	// StateBackup watches the Master and takes over when it goes silent.
	StateBackup
	// StateMaster owns the virtual addresses and advertises.
	StateMaster
	// StateFault is entered when the interface is down or a weight-0 tracker fails;
	// the instance neither advertises nor listens until the fault clears.
	StateFault
)

var stateNames = [...]string{"INIT", "BACKUP", "MASTER", "FAULT"}

// String returns the state's name in capitals, as keepalived prints it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// Reason says why an instance changed state.
type Reason uint8

// Reasons for a state change.
const (
	// ReasonNone is the zero value.
	ReasonNone Reason = iota
	// ReasonStartup: the instance started (as Backup, or as Master when configured so).
	ReasonStartup
	// ReasonOwner: the instance owns the addresses (priority 255) and became Master.
	ReasonOwner
	// ReasonTimeout: the Master_Down_Timer fired: no advert from a Master in time.
	ReasonTimeout
	// ReasonPeerResigned: the Master sent priority 0 and the down timer (Skew_Time)
	// fired.
	ReasonPeerResigned
	// ReasonPreempted: an advert with a higher priority (or an equal one from a greater
	// address) arrived while Master.
	ReasonPreempted
	// ReasonTracker: a tracker changed the instance into or out of FAULT.
	ReasonTracker
	// ReasonInterface: the interface went down or came back up.
	ReasonInterface
	// ReasonSync: another member of the sync group changed state.
	ReasonSync
	// ReasonShutdown: the instance was stopped.
	ReasonShutdown
)

var reasonNames = [...]string{"none", "startup", "address owner", "master down timeout", "master resigned", "preempted", "tracker", "interface", "sync group", "shutdown"}

// String returns a short lower-case description of r.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}
