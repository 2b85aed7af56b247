package penalty

import (
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
)

// TestNaiveGorgoniaDropsPenalty documents why this package exists: written
// the WGAN-GP way with sdk/nn's ops (the input gradient by gorgonia.Grad,
// then the gradient of loss + penalty with respect to the weights), the
// penalty contributes nothing, because nn's backward ops are not
// differentiable: the weight gradient is bit-identical to the loss's alone.
// If gorgonia refuses the graph instead, that is fine too; what must never
// happen is a silent, partial penalty.
func TestNaiveGorgoniaDropsPenalty(t *testing.T) {
	f := loadFixture(t)
	c := newTestCritic(t, f)
	n := f.Meta.N
	build := func(withPenalty bool) ([][]float32, error) {
		g := gorgonia.NewGraph()
		x := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(n, 1, 8, 8), tensor.WithBacking(f32(f.Xhat.Data))), gorgonia.WithName("x"))
		p := c.paramNodes(g)
		// conv1 + bias + LeakyReLU, then linear: nn's ops only.
		h := gorgonia.Must(nn.Conv2d(x, p[0], 1, 1, 0))
		h = gorgonia.Must(nn.BiasAct(h, p[1], nn.LeakyReLU, leak, 0))
		h = gorgonia.Must(nn.Flatten(h))
		w := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(1, 256), tensor.WithBacking(f32(f.Params[2].Data))), gorgonia.WithName("fcw"))
		d := gorgonia.Must(nn.Linear(h, w, 0))
		loss := gorgonia.Must(gorgonia.Mean(d))
		wrt := gorgonia.Nodes{p[0], p[1], w}
		if withPenalty {
			gx, err := gorgonia.Grad(gorgonia.Must(gorgonia.Sum(d)), x)
			if err != nil {
				return nil, err
			}
			// λ·mean_i (‖g_i‖ − 1)², as Gulrajani et al.'s code writes it.
			gf := gorgonia.Must(gorgonia.Reshape(gx[0], tensor.Shape{n, 64}))
			norm := gorgonia.Must(gorgonia.Sqrt(gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(gf)), 1))))
			dev := gorgonia.Must(gorgonia.Sub(norm, gorgonia.NewConstant(float32(1))))
			pen := gorgonia.Must(gorgonia.Mean(gorgonia.Must(gorgonia.Square(dev))))
			pen = gorgonia.Must(gorgonia.Mul(pen, gorgonia.NewConstant(float32(10))))
			loss = gorgonia.Must(gorgonia.Add(loss, pen))
		}
		grads, err := gorgonia.Grad(loss, wrt...)
		if err != nil {
			return nil, err
		}
		vm := gorgonia.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			return nil, err
		}
		out := make([][]float32, len(grads))
		for i, gr := range grads {
			out[i] = append([]float32(nil), data(gr.Value())...)
		}
		return out, nil
	}
	plain, err := build(false)
	if err != nil {
		t.Fatal(err)
	}
	naive, err := build(true)
	if err != nil {
		t.Logf("refused: %v", err)
		return
	}
	for k := range plain {
		for j := range plain[k] {
			if plain[k][j] != naive[k][j] {
				t.Fatalf("the naive penalty changed weight gradient %d at %d (%g, %g): gorgonia now differentiates twice; check it against the fixture before relying on it", k, j, plain[k][j], naive[k][j])
			}
		}
	}
	t.Logf("the naive penalty was dropped: weight gradients bit-identical")
}
