package medmnist_test

import (
	"fmt"

	"github.com/anogo/anogo/datasets/medmnist"
)

func ExampleLookup() {
	for _, name := range []string{"octmnist", "breastmnist", "chestmnist"} {
		in, _ := medmnist.Lookup(name)
		var normal []string
		for _, l := range in.Normal {
			normal = append(normal, in.Labels[l])
		}
		fmt.Printf("%s: %d labels, normal %q (%s)\n", in.Name, len(in.Labels), normal, in.Task)
	}
	// Output:
	// octmnist: 4 labels, normal ["normal"] (multi-class)
	// breastmnist: 2 labels, normal ["normal, benign"] (binary-class)
	// chestmnist: 14 labels, normal [] (multi-label)
}
