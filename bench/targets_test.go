package main

import "testing"

// TestTargets: the targets are judged on the medians, each in its own
// direction, and only when the figures they need are there.
func TestTargets(t *testing.T) {
	cases := []struct {
		name string
		res  Results
		want map[string]bool // what → met
	}{
		{"all met", Results{
			Medians: map[string]Stats{toolAudit: {CPUPerWall: 1.8}},
			Ratios:  &Ratios{Wall: 0.4, MaxRSS: 0.2},
		}, map[string]bool{"wall time / DuckDB's": true, "peak RSS / DuckDB's": true, "corpus-audit CPU time / wall time": true}},
		{"none met", Results{
			Medians: map[string]Stats{toolAudit: {CPUPerWall: 1.2}},
			Ratios:  &Ratios{Wall: 0.77, MaxRSS: 1.18},
		}, map[string]bool{"wall time / DuckDB's": false, "peak RSS / DuckDB's": false, "corpus-audit CPU time / wall time": false}},
		{"limits are inclusive", Results{
			Medians: map[string]Stats{toolAudit: {CPUPerWall: 1.7}},
			Ratios:  &Ratios{Wall: 0.5, MaxRSS: 0.25},
		}, map[string]bool{"wall time / DuckDB's": true, "peak RSS / DuckDB's": true, "corpus-audit CPU time / wall time": true}},
		{"corpus-audit only: no ratios", Results{
			Medians: map[string]Stats{toolAudit: {CPUPerWall: 1.9}},
		}, map[string]bool{"corpus-audit CPU time / wall time": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := targets(&tc.res)
			if len(got) != len(tc.want) {
				t.Fatalf("%d targets, want %d: %+v", len(got), len(tc.want), got)
			}
			for _, g := range got {
				met, ok := tc.want[g.What]
				if !ok {
					t.Errorf("unexpected target %q", g.What)
				} else if g.Met != met {
					t.Errorf("%s = %.2f: met %v, want %v", g.What, g.Value, g.Met, met)
				}
			}
		})
	}
}
