package tenant_test

import (
	"fmt"
	"log"

	"github.com/kp-efaktura/efaktura/pkg/tenant"
)

func ExampleLoadFile() {
	getenv := func(name string) string { // os.Getenv in a real main
		return map[string]string{"EFAKTURA_SECRET_0101": "from-the-environment"}[name]
	}
	tenants, err := tenant.LoadFile("testdata/tenants.yaml", getenv)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range tenants {
		answers := "answers allowed"
		if ok, _, detail := t.AnswersAllowed(); !ok {
			answers = "answers parked: " + detail
		}
		fmt.Printf("%s %s: %d senders, %d tokens; %s\n", t.Kommune, t.Name, len(t.Senders), len(t.Tokens), answers)
	}
	// Output:
	// 0101 København: 3 senders, 2 tokens; answers allowed
	// 0751 Aarhus: 1 senders, 2 tokens; answers parked: the bagside agreement is requested, not approved
}
