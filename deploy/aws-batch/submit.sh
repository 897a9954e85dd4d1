#!/usr/bin/env bash
# Submits tonight's sharded audit to AWS Batch: an array job of N shards
# (each takes its index from AWS_BATCH_JOB_ARRAY_INDEX: --shard auto/N),
# then a merge job that starts when every shard succeeded (dependsOn the
# array job). Run it from a scheduler (EventBridge Scheduler → a small
# Lambda or ECS task, or cron on a bastion), or use state-machine.json
# with Step Functions, which does the same with submitJob.sync.
#
#   QUEUE=corpus-audit LAKE=s3://corpus-lake OUT=s3://corpus-audit N=8 ./submit.sh [SNAPSHOT]
set -euo pipefail

snapshot="${1:-$(date -u +%Y-%m-%d)}"
queue="${QUEUE:-corpus-audit}"
lake="${LAKE:-s3://corpus-lake}"
out="${OUT:-s3://corpus-audit}"
n="${N:-8}"
parts="$out/parts/$snapshot"

shards=$(aws batch submit-job --output text --query jobId --cli-input-json "$(cat <<JSON
{
  "jobName": "corpus-audit-shards-$snapshot",
  "jobQueue": "$queue",
  "jobDefinition": "corpus-audit-shard",
  "arrayProperties": {"size": $n},
  "parameters": {
    "corpus": "$lake/corpus/snapshot=$snapshot",
    "ages": "$lake/tables/ages",
    "objections": "$lake/tables/objections",
    "links": "$lake/tables/links",
    "shards": "auto/$n",
    "out": "$parts/{shard}"
  }
}
JSON
)")
echo "shards: array job $shards ($n children)"

command="[\"merge\", \"--out\", \"$out/runs/$snapshot\""
for ((i = 0; i < n; i++)); do command+=", \"$parts/$i\""; done
command+="]"
merge=$(aws batch submit-job --output text --query jobId --cli-input-json "$(cat <<JSON
{
  "jobName": "corpus-audit-merge-$snapshot",
  "jobQueue": "$queue",
  "jobDefinition": "corpus-audit-merge",
  "dependsOn": [{"jobId": "$shards"}],
  "containerOverrides": {"command": $command}
}
JSON
)")
echo "merge: job $merge (starts when all shards succeeded)"
