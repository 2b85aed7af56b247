package params_test

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/params"
)

// A network registers its weights by name, binds them to a graph and takes
// each by its name; a checkpoint holds them under the same names.
func ExampleSet() {
	var s params.Set
	s.Add("enc.fc.w", tensor.New(tensor.WithShape(2, 3), tensor.Of(tensor.Float32)))
	s.AddBN("enc.bn1", 2)

	g := gorgonia.NewGraph()
	p := s.Lookup(s.Nodes(g))
	w, gamma, st := p.Node("enc.fc.w"), p.Node("enc.bn1.gamma"), p.BatchNorm("enc.bn1")
	fmt.Println(w.Shape(), gamma.Shape(), len(st.Mean), p.Err())
	p.Node("enc.fc.b")
	fmt.Println(p.Err())

	var c checkpoint.Checkpoint
	s.AddTo(&c)
	for _, t := range c.Tensors {
		fmt.Println(t.Name, t.Shape)
	}
	// Output:
	// (2, 3) (2) 2 <nil>
	// params: no parameter "enc.fc.b"
	// enc.fc.w [2 3]
	// enc.bn1.gamma [2]
	// enc.bn1.beta [2]
	// enc.bn1.mean [2]
	// enc.bn1.var [2]
}
