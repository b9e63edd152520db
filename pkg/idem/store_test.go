package idem_test

import (
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/kp-efaktura/efaktura/pkg/idem"
	"github.com/kp-efaktura/efaktura/pkg/idem/idemtest"
	"github.com/kp-efaktura/efaktura/pkg/natstest"
	"github.com/kp-efaktura/efaktura/pkg/redistest"
)

func TestRedisStore(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	idemtest.TestStore(t, func(t *testing.T) idem.Store {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { c.Close() })
		return idem.NewRedis(c, "efaktura:idem:test:")
	})
}

func TestKVStore(t *testing.T) {
	t.Parallel()
	// Both storages at once, like the suite's subtests: they mostly wait.
	var wg sync.WaitGroup
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		wg.Go(func() {
			t.Run(storage.String(), func(t *testing.T) {
				srv := natstest.Start(t)
				idemtest.TestStore(t, func(t *testing.T) idem.Store {
					js, err := jetstream.New(natstest.Connect(t, srv))
					if err != nil {
						t.Fatal(err)
					}
					// Every store runs NewKV on the same bucket, concurrently:
					// creating or updating the bucket must be idempotent.
					s, err := idem.NewKV(t.Context(), js, idem.KVConfig{Storage: storage})
					if err != nil {
						t.Fatalf("NewKV = %v", err)
					}
					return s
				})
			})
		})
	}
	wg.Wait()
}
