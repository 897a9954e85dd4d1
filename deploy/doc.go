// Package deploy holds corpus-audit's deployment files — the Dockerfile,
// Kubernetes CronJobs (one pod running nightly; an Indexed Job of shards
// followed by the merge), AWS Batch job definitions, Prometheus alerts and
// a cron example — and the tests that check them against their schemas.
// It is a module of its own, so that the Kubernetes, AWS Batch and
// Prometheus packages the tests use stay out of corpus-audit's go.mod.
package deploy
