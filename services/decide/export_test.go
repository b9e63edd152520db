package decide

import "time"

// WithMarkerTTL sets how long purge markers of archived records stay in the
// records bucket; default one hour.
func WithMarkerTTL(d time.Duration) Option {
	return func(o *options) error { o.markerTTL = d; return nil }
}

// WithLoadGate holds the index back from being loaded until gate is closed.
func WithLoadGate(gate <-chan struct{}) Option {
	return func(o *options) error { o.loadGate = gate; return nil }
}

// IndexLen returns the number of records the worker's index holds.
func (w *Worker) IndexLen() int { return w.store.idx.len() }
