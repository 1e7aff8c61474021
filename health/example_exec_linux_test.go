package health_test

import (
	"context"
	"fmt"

	"github.com/lvskit/lvskit/health"
)

// A vrrp_script-like check in keepalived's dynamic mode: exit 2..255 sets a weight.
func ExampleExecChecker() {
	c := &health.ExecChecker{Argv: []string{"sh", "-c", "exit 12"}, Dynamic: true}
	res, err := c.Check(context.Background())
	fmt.Println(res.Weight, res.WeightSet, err)
	// Output: 10 true <nil>
}
