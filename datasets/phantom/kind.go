package phantom

import (
	"fmt"
	"strings"
)

// Kind is a type of anomaly the phantom draws. Each is one of the findings
// the AnoGAN paper shows or names (Schlegl et al. 2017, Sec. 3 and Fig. 3):
// retinal fluid (intraretinal cysts, subretinal fluid), hyperreflective foci
// and, as a further lesion of the outer retina, drusen.
type Kind int

const (
	// Cysts are one to three dark fluid-filled ellipses inside the inner or
	// outer nuclear layer (intraretinal cystoid fluid).
	Cysts Kind = iota + 1
	// SubretinalFluid is a dark lens of fluid between the photoreceptors
	// and the retinal pigment epithelium that lifts the retina above it.
	SubretinalFluid
	// Foci are two to four small bright dots, a few pixels wide, inside the
	// inner or outer nuclear layer (hyperreflective foci).
	Foci
	// Drusen are one to three dome-shaped deposits under the retinal pigment
	// epithelium that lift it into bumps.
	Drusen
)

// Kinds lists every Kind in a fixed order.
var Kinds = []Kind{Cysts, SubretinalFluid, Foci, Drusen}

var kindNames = map[Kind]string{
	Cysts:           "intraretinal-cysts",
	SubretinalFluid: "subretinal-fluid",
	Foci:            "hyperreflective-foci",
	Drusen:          "drusen",
}

// String returns the name of k, e.g. "subretinal-fluid".
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind returns the Kind named s (as written by String).
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if kindNames[k] == s {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = kindNames[k]
	}
	return 0, fmt.Errorf("phantom: unknown anomaly kind %q (known: %s)", s, strings.Join(names, ", "))
}

func (k Kind) valid() bool { _, ok := kindNames[k]; return ok }
