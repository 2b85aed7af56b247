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
	// stopped early), Restart the start that gave Z (0 to Restarts-1).
	Steps, Restart int
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
	// Lambda is λ of Eq. (5) (0: DefaultLambda, the paper's). Set NoLambda to
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
	// Restarts is the number of initial codes tried per query (default 1):
	// each is mapped on its own and the query keeps the one whose final
	// loss (Eq. 5) is lowest. The first start is the one a single start
	// would use.
	Restarts int
	// Seed seeds the initial codes.
	Seed uint64
	// Progress, when set, is called after every step with the number of
	// query-steps done and the total (queries × Γ).
	Progress func(done, total int) `json:"-"`

	graphs map[graphKey]*graph
}

// graphKey is everything a compiled mapping graph depends on, so that a
// mapper reused with another model, loss or λ never runs a stale graph.
type graphKey struct {
	n      int
	model  *dcgan.Model
	loss   Loss
	lambda float64
}

// DefaultLambda is λ of Eqs. (5) and (6) when a setting leaves it 0: the
// AnoGAN paper's 0.1 (Sec. 3).
const DefaultLambda = 0.1

// ResolveLambda returns λ for a setting's Lambda and NoLambda: 0 with
// NoLambda, DefaultLambda for 0, else lambda. Every user of λ (the mapper,
// the scores, the aCAE) calls it, so the default lives here alone.
func ResolveLambda(lambda float64, noLambda bool) float64 {
	switch {
	case noLambda:
		return 0
	case lambda == 0:
		return DefaultLambda
	}
	return lambda
}

func (it *Iterative) steps() int {
	if it.Steps <= 0 {
		return 500
	}
	return it.Steps
}

// lambda returns λ (ResolveLambda).
func (it *Iterative) lambda() float64 { return ResolveLambda(it.Lambda, it.NoLambda) }

// EffectiveLambda returns the λ the mapping uses: Lambda, DefaultLambda
// when it is 0, 0 with NoLambda.
func (it *Iterative) EffectiveLambda() float64 { return it.lambda() }

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
	key := graphKey{n: n, model: it.Model, loss: it.Loss, lambda: it.lambda()}
	if gr, ok := it.graphs[key]; ok {
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
		it.graphs = map[graphKey]*graph{}
	}
	it.graphs[key] = gr
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

// StartID is the ID that seeds the initial code of start r of the query
// with the given ID: the ID itself for the first start.
func StartID(id string, r int) string {
	if r == 0 {
		return id
	}
	return fmt.Sprintf("%s#start=%d", id, r)
}

// Map maps every query. Queries must be Size×Size images. ctx cancels
// between steps.
//
// The queries (times Restarts) form a queue that fills a batch of Batch
// slots; a slot whose query is done (Γ steps, or stopped early by Tol) takes
// the next query at once, so early stops save work, and the batch shrinks
// when the queue runs dry. A query's result does not depend on its slot or
// its neighbours: each row has its own code and its own Adam state.
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
	starts := max(it.Restarts, 1)
	jobs := len(queries) * starts
	if jobs == 0 {
		return nil, nil
	}
	q := &queue{it: it, qs: queries, starts: starts, jobs: jobs}
	if err := q.init(min(it.batch(), jobs)); err != nil {
		return nil, err
	}
	return q.run(ctx)
}

// queue holds the state of one Map call.
type queue struct {
	it     *Iterative
	qs     []data.Sample
	starts int
	jobs   int // len(qs) × starts; job j is start j%starts of query j/starts
	next   int // the next job to start

	gr    *graph
	opt   *optim.Adam
	inf   *dcgan.Inference // f(x), one query at a time
	slots []slot
	steps []int // scratch for UpdateRows, one entry per slot
	fxQ   int   // the query whose f(x) is in fx
	fx    []float32

	best                 []Latent
	done, left, reported int // results recorded; query-steps for Progress
}

// slot is one row of the batch.
type slot struct {
	job  int // -1: empty
	t    int // updates taken
	prev float64
	calm int
}

func (q *queue) init(bs int) error {
	it := q.it
	gr, err := it.build(bs)
	if err != nil {
		return err
	}
	q.gr = gr
	if it.Loss == FeatureMatching {
		if q.inf, err = it.Model.NewInference(1); err != nil {
			return err
		}
	}
	q.opt = optim.NewAdam(it.lr(), it.beta1())
	q.slots = make([]slot, bs)
	q.steps = make([]int, bs)
	q.fxQ = -1
	q.best = make([]Latent, len(q.qs))
	for i := range q.slots {
		q.slots[i].job = -1
		if err := q.fill(i); err != nil {
			return err
		}
	}
	return nil
}

// fill starts the next job in slot i, or leaves the slot empty.
func (q *queue) fill(i int) error {
	sl := &q.slots[i]
	*sl = slot{job: -1}
	if q.next >= q.jobs {
		return nil
	}
	j := q.next
	q.next++
	cfg := q.it.Model.Config
	nz, px := cfg.Latent, cfg.Size*cfg.Size
	qi := j / q.starts
	query := q.qs[qi]
	copy(q.gr.zT.Data().([]float32)[i*nz:(i+1)*nz], InitialZ(q.it.Seed, StartID(query.ID, j%q.starts), nz))
	copy(q.gr.xT.Data().([]float32)[i*px:(i+1)*px], query.Image.Pix)
	if q.inf != nil {
		if q.fxQ != qi {
			_, fx, err := q.inf.Discriminate(query.Image.Pix)
			if err != nil {
				return err
			}
			q.fx, q.fxQ = append(q.fx[:0], fx...), qi
		}
		copy(q.gr.fxT.Data().([]float32)[i*len(q.fx):], q.fx)
	}
	if q.opt.M != nil {
		q.opt.ResetRow(i, nz)
	}
	sl.job = j
	return nil
}

func (q *queue) run(ctx context.Context) ([]Latent, error) {
	it := q.it
	nz := it.Model.Config.Latent
	lam := it.lambda()
	total := it.steps()
	patience := it.Patience
	if patience <= 0 {
		patience = 10
	}
	defer q.gr.vm.Reset()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := it.run(q.gr); err != nil {
			return nil, err
		}
		r := q.gr.residual.Value().Data().([]float32)
		d := q.gr.disc.Value().Data().([]float32)
		steps := q.steps[:len(q.slots)] // each row's update this step (0: none)
		clear(steps)
		moved, freed := 0, false
		for i := range q.slots {
			sl := &q.slots[i]
			if sl.job < 0 {
				continue
			}
			l := (1-lam)*float64(r[i]) + lam*float64(d[i])
			stop := sl.t >= total
			if !stop && it.Tol > 0 && sl.t > 0 {
				if sl.prev-l < it.Tol*math.Abs(sl.prev) {
					sl.calm++
				} else {
					sl.calm = 0
				}
				stop = sl.calm >= patience
			}
			if stop {
				q.record(i, l, float64(r[i]), float64(d[i]))
				q.left += total - sl.t
				sl.job = -1
				freed = true
				continue
			}
			sl.prev = l
			sl.t++
			steps[i] = sl.t
			moved++
		}
		moving := moved > 0
		if moving {
			z := q.gr.zT.Data().([]float32)
			grad := q.gr.grad.Value().Data().([]float32)
			if err := q.opt.UpdateRows(z, grad, nz, steps); err != nil {
				return nil, err
			}
			for i, v := range z {
				z[i] = max(-1, min(1, v)) // keep z in the prior's range
			}
			q.left += moved
		}
		q.gr.vm.Reset()
		// Progress once per update step, and once at the end if early stops
		// added query-steps since.
		if it.Progress != nil && (moving || q.done == q.jobs) && q.left != q.reported {
			it.Progress(q.left, q.jobs*total)
			q.reported = q.left
		}
		if freed {
			for i := range q.slots {
				if q.slots[i].job < 0 {
					if err := q.fill(i); err != nil {
						return nil, err
					}
				}
			}
			if err := q.shrink(); err != nil {
				return nil, err
			}
		}
		if q.done == q.jobs {
			return q.best, nil
		}
	}
}

// record keeps the result of the job in slot i if it is its query's best.
func (q *queue) record(i int, loss, residual, disc float64) {
	cfg := q.it.Model.Config
	nz, px := cfg.Latent, cfg.Size*cfg.Size
	sl := q.slots[i]
	qi, start := sl.job/q.starts, sl.job%q.starts
	q.done++
	if start > 0 && loss >= q.best[qi].Loss {
		return
	}
	im := data.NewImage(cfg.Size, cfg.Size)
	copy(im.Pix, q.gr.recon.Value().Data().([]float32)[i*px:(i+1)*px])
	q.best[qi] = Latent{
		ID:             q.qs[qi].ID,
		Z:              append([]float32(nil), q.gr.zT.Data().([]float32)[i*nz:(i+1)*nz]...),
		Residual:       residual,
		Discrimination: disc,
		Loss:           loss,
		Steps:          sl.t,
		Restart:        start,
		Recon:          im,
	}
}

// shrink moves the running jobs into a smaller batch once the queue is
// empty and at most half the slots are busy, so that the last queries do
// not pay for empty rows.
func (q *queue) shrink() error {
	busy := 0
	for _, sl := range q.slots {
		if sl.job >= 0 {
			busy++
		}
	}
	if q.next < q.jobs || busy == 0 || busy > len(q.slots)/2 {
		return nil
	}
	n := 1
	for n < busy {
		n *= 2
	}
	gr, err := q.it.build(n)
	if err != nil {
		return err
	}
	cfg := q.it.Model.Config
	nz, px := cfg.Latent, cfg.Size*cfg.Size
	nf := 0
	if gr.fxT != nil {
		nf = gr.fxT.Size() / n
	}
	opt := optim.NewAdam(q.opt.LR, q.opt.Beta1)
	opt.M = [][]float32{make([]float32, n*nz)}
	opt.V = [][]float32{make([]float32, n*nz)}
	slots := make([]slot, n)
	k := 0
	for i, sl := range q.slots {
		if sl.job < 0 {
			continue
		}
		copy(gr.zT.Data().([]float32)[k*nz:(k+1)*nz], q.gr.zT.Data().([]float32)[i*nz:(i+1)*nz])
		copy(gr.xT.Data().([]float32)[k*px:(k+1)*px], q.gr.xT.Data().([]float32)[i*px:(i+1)*px])
		if nf > 0 {
			copy(gr.fxT.Data().([]float32)[k*nf:(k+1)*nf], q.gr.fxT.Data().([]float32)[i*nf:(i+1)*nf])
		}
		if q.opt.M != nil {
			copy(opt.M[0][k*nz:(k+1)*nz], q.opt.M[0][i*nz:(i+1)*nz])
			copy(opt.V[0][k*nz:(k+1)*nz], q.opt.V[0][i*nz:(i+1)*nz])
		}
		slots[k] = sl
		k++
	}
	for ; k < n; k++ {
		slots[k] = slot{job: -1}
	}
	q.gr.vm.Reset()
	q.gr, q.opt, q.slots = gr, opt, slots
	return nil
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
