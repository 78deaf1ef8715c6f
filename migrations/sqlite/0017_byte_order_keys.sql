-- PostgreSQL's key columns take byte order ("C") in this version; SQLite compares text by bytes
-- already (BINARY), so nothing changes here. The version exists on both engines alike.
SELECT 1;
