module github.com/kp-efaktura/efaktura/services/ingest

go 1.26.0
