// Package state keeps what the nightly audit remembers between runs: the
// state file (which snapshot was audited, with which policy and inputs,
// with what result, and which audit is in progress) and the lock that
// keeps two nightly runs from working on one state at once. Both live in
// one state location, a local folder or an S3 prefix.
package state

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/corpus-audit/corpus-audit/lake"
	"github.com/corpus-audit/corpus-audit/schema"
)

// FileName is the state file's name in the state location.
const FileName = "state.json"

// Version is the current State.Version.
const Version = 1

// State is the content of the state file.
type State struct {
	Version int `json:"version"`
	// Lake is the lake the state belongs to, as given to the first run.
	Lake string `json:"lake"`
	// Snapshots maps a snapshot's name (e.g. "2026-06-01") to what is
	// known of its audits.
	Snapshots map[string]*Snapshot `json:"snapshots"`
	// Updated is when the state was last saved.
	Updated time.Time `json:"updated_at"`
}

// Snapshot is the audit record of one snapshot.
type Snapshot struct {
	// Last is the last audit that ended (complete or failed); nil before
	// the first.
	Last *Audit `json:"last,omitempty"`
	// InProgress is an audit started and not ended: a run that finds it
	// (after a crash) resumes it if the inputs and policy are unchanged.
	InProgress *Audit `json:"in_progress,omitempty"`
}

// Audit is one audit of a snapshot.
type Audit struct {
	RunID string `json:"run_id"`
	// Out is where its outputs are (findings, summary.json, reports).
	Out string `json:"out"`
	// Work is where its checkpoints are while it runs.
	Work string `json:"work,omitempty"`
	// PolicyHash and Fingerprint say what it audited: the policy, and a
	// hash of every input's key, size and ETag (corpus files, tables,
	// config file). An audit with both equal to today's is still valid.
	PolicyHash  string `json:"policy_hash"`
	Fingerprint string `json:"fingerprint"`
	// Inputs is the number of input files the fingerprint covers.
	Inputs  int       `json:"inputs"`
	Started time.Time `json:"started_at"`
	// Ended, Status, Error and the counts are set when it ended.
	Ended       time.Time     `json:"ended_at,omitzero"`
	Status      schema.Status `json:"status,omitempty"`
	Error       string        `json:"error,omitempty"`
	RowsScanned int64         `json:"rows_scanned,omitempty"`
	RowsFlagged int64         `json:"rows_flagged,omitempty"`
	Files       int           `json:"files,omitempty"`
}

// Complete reports whether the audit ended with a result (clean or
// findings), as opposed to failing.
func (a *Audit) Complete() bool {
	return a != nil && (a.Status == schema.StatusClean || a.Status == schema.StatusFindings)
}

// Store is a state location.
type Store struct {
	loc lake.Location
}

// Open opens a state location (local folder or s3:// prefix). Nothing is
// read or written yet.
func Open(ctx context.Context, raw string, s3o lake.S3Options) (*Store, error) {
	loc, err := lake.Open(ctx, raw, s3o)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", raw, err)
	}
	return &Store{loc: loc}, nil
}

// NewStore returns a store over an opened location.
func NewStore(loc lake.Location) *Store { return &Store{loc: loc} }

// Location returns the state location.
func (s *Store) Location() lake.Location { return s.loc }

// Close releases the location's resources.
func (s *Store) Close() error { return s.loc.Bucket.Close() }

func (s *Store) key(name string) string { return s.loc.Join(name) }

// URI returns how name under the state location is shown to people.
func (s *Store) URI(name string) string { return s.loc.URI(s.key(name)) }

// Load reads the state file; a missing one is an empty state.
func (s *Store) Load(ctx context.Context) (*State, error) {
	st := &State{Version: Version, Snapshots: map[string]*Snapshot{}}
	rc, err := s.loc.Bucket.Get(ctx, s.key(FileName))
	if lake.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", s.URI(FileName), err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(st); err != nil {
		return nil, fmt.Errorf("state %s: unreadable: %v", s.URI(FileName), err)
	}
	if st.Version != Version {
		return nil, fmt.Errorf("state %s: version %d, this corpus-audit reads version %d", s.URI(FileName), st.Version, Version)
	}
	if st.Snapshots == nil {
		st.Snapshots = map[string]*Snapshot{}
	}
	return st, nil
}

// Save writes the state file atomically.
func (s *Store) Save(ctx context.Context, st *State) error {
	st.Version = Version
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := s.loc.Bucket.Upload(ctx, s.key(FileName), bytes.NewReader(append(data, '\n'))); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}
