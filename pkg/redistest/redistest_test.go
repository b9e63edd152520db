package redistest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestStart(t *testing.T) {
	s := Start(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	if err := c.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET on %s: %v", s.Addr, err)
	}
	if got, err := c.Get(context.Background(), "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want v", got, err)
	}
	if s.Addr == "127.0.0.1:6379" {
		t.Errorf("test server took the standard port")
	}
}
