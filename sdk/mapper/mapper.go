package mapper

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/optim"
)

// Loss selects the discrimination loss of the mapping.
type Loss int

const (
	// FeatureMatching is AnoGAN's loss, Eq. (4).
	FeatureMatching Loss = iota
	// Reference is the sigmoid cross-entropy loss of Sec. 2.2.2 (GAN_R).
	Reference
)

func (l Loss) String() string {
	if l == Reference {
		return "reference"
	}
	return "feature-matching"
}

// Latent is the result of mapping one query.
type Latent struct {
	ID string
	// Z is the code found, in [-1, 1]^Latent.
	Z []float32
	// Residual is L_R(z) (Eq. 3) and Discrimination L_D(z) (Eq. 4, or the
	// reference loss) at the final z; Loss is Eq. (5).
	Residual, Discrimination, Loss float64
	// Steps is the number of updates the query took (fewer than Γ when it
	// stopped early).
	Steps int
	// Recon is G(z).
	Recon *data.Image
}

// Mapper maps query images to latent codes.
type Mapper interface {
	Map(ctx context.Context, queries []data.Sample) ([]Latent, error)
}

// Iterative is AnoGAN's iterative mapping. The zero values of its fields
// mean the paper's settings where the paper gives them.
type Iterative struct {
	Model *dcgan.Model
	// Steps is Γ, the number of updates (default 500, the paper's).
	Steps int
	// Lambda is λ of Eq. (5) (default 0.1, the paper's). Set NoLambda to
	// use λ = 0.
	Lambda   float64
	NoLambda bool
	// Loss selects the discrimination loss.
	Loss Loss
	// LR is Adam's learning rate on z (default 0.01; the paper does not
	// give one), Beta1 its first-moment decay (default 0.9).
	LR, Beta1 float64
	// Batch is the number of queries mapped at once (default 64).
	Batch int
	// Tol, when positive, stops a query early once its loss has improved by
	// less than Tol (relative) in each of the last Patience steps
	// (default 10).
	Tol      float64
	Patience int
	// Seed seeds the initial codes.
	Seed uint64
	// Progress, when set, is called after every step with the number of
	// query-steps done and the total (queries × Γ).
	Progress func(done, total int) `json:"-"`

	graphs map[int]*graph
}

func (it *Iterative) steps() int {
	if it.Steps <= 0 {
		return 500
	}
	return it.Steps
}

// lambda returns λ.
func (it *Iterative) lambda() float64 {
	if it.NoLambda {
		return 0
	}
	if it.Lambda == 0 {
		return 0.1
	}
	return it.Lambda
}

func (it *Iterative) batch() int {
	if it.Batch <= 0 {
		return 64
	}
	return it.Batch
}

type graph struct {
	vm                    gorgonia.VM
	z, x, fx              *gorgonia.Node
	zT, xT, fxT           *tensor.Dense
	residual, disc, recon *gorgonia.Node
	grad                  *gorgonia.Node
}

func (it *Iterative) build(n int) (*graph, error) {
	if gr, ok := it.graphs[n]; ok {
		return gr, nil
	}
	m := it.Model
	cfg := m.Config
	g := gorgonia.NewGraph()
	gr := &graph{}
	gr.z = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, cfg.Latent), gorgonia.WithName("z"))
	gr.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, cfg.Size, cfg.Size), gorgonia.WithName("x"))
	eval := dcgan.Mode{NoGrad: nn.NoParamGrad}
	gz, err := m.Generator(gr.z, m.G.Nodes(g), eval)
	if err != nil {
		return nil, err
	}
	gr.recon = gz
	// Eq. (3): L_R = Σ|x - G(z)|, per query.
	if gr.residual, err = nn.AbsDiffSum(gz, gr.x, nn.NoParamGrad); err != nil {
		return nil, err
	}
	logit, fgz, err := m.Discriminator(gz, m.D.Nodes(g), eval)
	if err != nil {
		return nil, err
	}
	switch it.Loss {
	case FeatureMatching:
		// Eq. (4): L_D = Σ|f(x) - f(G(z))|, f(x) computed once per query.
		fs := cfg.FeatureShape()
		gr.fx = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, fs[0], fs[1], fs[2]), gorgonia.WithName("fx"))
		gr.fxT = tensor.New(tensor.WithShape(n, fs[0], fs[1], fs[2]), tensor.Of(tensor.Float32))
		if gr.disc, err = nn.AbsDiffSum(fgz, gr.fx, nn.NoParamGrad); err != nil {
			return nil, err
		}
	case Reference:
		// Sec. 2.2.2: sigmoid cross-entropy of D(G(z)) against "real".
		if gr.disc, err = nn.BCEWithLogits(logit, 1); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("mapper: unknown loss %d", it.Loss)
	}
	// Eq. (5): L = (1 - λ)·L_R + λ·L_D, summed over the batch (the queries
	// are independent, so the sum's gradient is each query's own).
	lam := it.lambda()
	a, err := gorgonia.Mul(gr.residual, gorgonia.NewConstant(float32(1-lam)))
	if err != nil {
		return nil, err
	}
	b, err := gorgonia.Mul(gr.disc, gorgonia.NewConstant(float32(lam)))
	if err != nil {
		return nil, err
	}
	loss, err := gorgonia.Add(a, b)
	if err != nil {
		return nil, err
	}
	cost, err := gorgonia.Sum(loss)
	if err != nil {
		return nil, err
	}
	grads, err := gorgonia.Grad(cost, gr.z)
	if err != nil {
		return nil, fmt.Errorf("mapper: gradient: %w", err)
	}
	gr.grad = grads[0]
	gr.vm = gorgonia.NewTapeMachine(g)
	gr.zT = tensor.New(tensor.WithShape(n, cfg.Latent), tensor.Of(tensor.Float32))
	gr.xT = tensor.New(tensor.WithShape(n, 1, cfg.Size, cfg.Size), tensor.Of(tensor.Float32))
	if it.graphs == nil {
		it.graphs = map[int]*graph{}
	}
	it.graphs[n] = gr
	return gr, nil
}

// InitialZ returns the starting code of the query with the given ID: a
// draw from U[-1, 1]^latent seeded by (seed, ID).
func InitialZ(seed uint64, id string, latent int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(id))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	z := make([]float32, latent)
	dcgan.SampleZ(rng, z)
	return z
}

// Map maps every query. Queries must be Size×Size images. ctx cancels
// between steps.
func (it *Iterative) Map(ctx context.Context, queries []data.Sample) ([]Latent, error) {
	if it.Model == nil {
		return nil, fmt.Errorf("mapper: no model")
	}
	cfg := it.Model.Config
	for i, q := range queries {
		if err := q.Image.Check(q.ID); err != nil {
			return nil, fmt.Errorf("mapper: query %d: %w", i, err)
		}
		if q.Image.H != cfg.Size || q.Image.W != cfg.Size {
			return nil, fmt.Errorf("mapper: query %d (%s) is %dx%d, the model takes %dx%d", i, q.ID, q.Image.H, q.Image.W, cfg.Size, cfg.Size)
		}
	}
	bs := it.batch()
	if len(queries) < bs {
		bs = len(queries)
	}
	if bs == 0 {
		return nil, nil
	}
	gr, err := it.build(bs)
	if err != nil {
		return nil, err
	}
	var inf *dcgan.Inference
	if it.Loss == FeatureMatching {
		if inf, err = it.Model.NewInference(bs); err != nil {
			return nil, err
		}
	}
	out := make([]Latent, 0, len(queries))
	for lo := 0; lo < len(queries); lo += bs {
		hi := min(lo+bs, len(queries))
		res, err := it.mapBatch(ctx, gr, inf, queries[lo:hi], bs, lo, len(queries))
		if err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}

func (it *Iterative) mapBatch(ctx context.Context, gr *graph, inf *dcgan.Inference, qs []data.Sample, bs, first, nq int) ([]Latent, error) {
	cfg := it.Model.Config
	nz, px := cfg.Latent, cfg.Size*cfg.Size
	k := len(qs)
	z := gr.zT.Data().([]float32)
	x := gr.xT.Data().([]float32)
	clear(z)
	clear(x)
	for i, q := range qs {
		copy(z[i*nz:], InitialZ(it.Seed, q.ID, nz))
		copy(x[i*px:], q.Image.Pix)
	}
	if inf != nil {
		_, fx, err := inf.Discriminate(x[:k*px])
		if err != nil {
			return nil, err
		}
		buf := gr.fxT.Data().([]float32)
		clear(buf)
		copy(buf, fx)
	}
	active := make([]bool, bs)
	for i := 0; i < k; i++ {
		active[i] = true
	}
	steps := make([]int, k)
	prev := make([]float64, k)
	calm := make([]int, k)
	patience := it.Patience
	if patience <= 0 {
		patience = 10
	}
	opt := optim.NewAdam(it.lr(), it.beta1())
	lam := it.lambda()
	total := it.steps()
	for s := 0; s <= total; s++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := it.run(gr); err != nil {
			return nil, err
		}
		if s == total {
			break // the last run only evaluates the final codes
		}
		r := gr.residual.Value().Data().([]float32)
		d := gr.disc.Value().Data().([]float32)
		moving := false
		for i := 0; i < k; i++ {
			if !active[i] {
				continue
			}
			l := (1-lam)*float64(r[i]) + lam*float64(d[i])
			if it.Tol > 0 && s > 0 {
				if prev[i]-l < it.Tol*math.Abs(prev[i]) {
					calm[i]++
				} else {
					calm[i] = 0
				}
				if calm[i] >= patience {
					active[i] = false
					continue
				}
			}
			prev[i] = l
			steps[i]++
			moving = true
		}
		if !moving {
			s = total - 1 // evaluate once more, then stop
			gr.vm.Reset()
			continue
		}
		grad := gr.grad.Value().Data().([]float32)
		if err := opt.UpdateRows(z, grad, nz, active); err != nil {
			return nil, err
		}
		for i, v := range z {
			z[i] = max(-1, min(1, v)) // keep z in the prior's range
		}
		gr.vm.Reset()
		if it.Progress != nil {
			it.Progress(first*total+(s+1)*k, nq*total)
		}
	}
	defer gr.vm.Reset()
	r := gr.residual.Value().Data().([]float32)
	d := gr.disc.Value().Data().([]float32)
	recon := gr.recon.Value().Data().([]float32)
	out := make([]Latent, k)
	for i, q := range qs {
		im := data.NewImage(cfg.Size, cfg.Size)
		copy(im.Pix, recon[i*px:(i+1)*px])
		out[i] = Latent{
			ID:             q.ID,
			Z:              append([]float32(nil), z[i*nz:(i+1)*nz]...),
			Residual:       float64(r[i]),
			Discrimination: float64(d[i]),
			Loss:           (1-lam)*float64(r[i]) + lam*float64(d[i]),
			Steps:          steps[i],
			Recon:          im,
		}
	}
	return out, nil
}

func (it *Iterative) run(gr *graph) error {
	if err := gorgonia.Let(gr.z, gr.zT); err != nil {
		return err
	}
	if err := gorgonia.Let(gr.x, gr.xT); err != nil {
		return err
	}
	if gr.fx != nil {
		if err := gorgonia.Let(gr.fx, gr.fxT); err != nil {
			return err
		}
	}
	if err := gr.vm.RunAll(); err != nil {
		return fmt.Errorf("mapper: %w", err)
	}
	return nil
}

func (it *Iterative) lr() float64 {
	if it.LR <= 0 {
		return 0.01
	}
	return it.LR
}

func (it *Iterative) beta1() float64 {
	if it.Beta1 <= 0 {
		return 0.9
	}
	return it.Beta1
}
