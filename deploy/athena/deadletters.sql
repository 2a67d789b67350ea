-- Dead letters: records the pipeline could not use, one JSON line each, written by sinks/s3 at
--   s3://${BUCKET}/${PREFIX}/kind=deadletter/stream=<stream>/dt=YYYY-MM-DD/hour=HH/<partition>_<first>_<last>.json.gz
--   (one object per stream per flush; with several partitions' letters: <first partition>_<first position>_h<hash>.json.gz)
-- The format is sinks/layout's DeadLetterLine, shared with the file sink. key and value are base64 (from_base64(value) gives the raw bytes); time is RFC 3339
-- (from_iso8601_timestamp(time)). Replace ${BUCKET} and ${PREFIX} (see reports.sql).
--   SELECT reason, count(*) FROM weir_deadletters
--   WHERE stream = 'events' AND dt = '2026-11-21' GROUP BY reason;
--   SELECT "partition", position, detail, from_utf8(from_base64(value)) FROM weir_deadletters
--   WHERE stream = 'events' AND dt = '2026-11-21' AND reason = 'decode' LIMIT 20;
CREATE EXTERNAL TABLE IF NOT EXISTS weir_deadletters (
  `partition` string,
  position string,
  time string,
  reason string,
  detail string,
  key string,
  value string
)
PARTITIONED BY (stream string, dt string, hour int)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${BUCKET}/${PREFIX}/kind=deadletter/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.stream.type' = 'injected',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2024-01-01,NOW',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2',
  'storage.location.template' = 's3://${BUCKET}/${PREFIX}/kind=deadletter/stream=${stream}/dt=${dt}/hour=${hour}/'
);
