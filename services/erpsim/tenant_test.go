package erpsim_test

import "github.com/kp-efaktura/efaktura/pkg/tenant"

func respondEconomySystem(endpoint string) tenant.EconomySystem {
	return tenant.EconomySystem{ID: "es-1", Endpoint: endpoint, Secret: "s3cret"}
}
