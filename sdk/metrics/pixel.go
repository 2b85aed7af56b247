package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"

	"github.com/anogo/anogo/sdk/data"
)

// A mask pixel counts as anomalous when its value is above maskLevel, so
// masks stored as {0, 1} and as {-1, 1} read the same.
const maskLevel = 0.5

// pixels pools the pixels of every map that has a mask: their values in
// ascending order and whether each is annotated anomalous. It returns an
// error naming the image when a map is missing, has another size than its
// mask or holds a NaN value, and when no image has a mask. nPos counts the
// anomalous pixels. It panics if maps and masks differ in length.
func pixels(fn string, maps, masks []*data.Image) (y []float64, classes []bool, nPos int, err error) {
	if len(maps) != len(masks) {
		panic(fmt.Sprintf("metrics: %s: %d maps but %d masks", fn, len(maps), len(masks)))
	}
	var n int
	for i, mask := range masks {
		if mask == nil {
			continue
		}
		m := maps[i]
		switch {
		case m == nil:
			return nil, nil, 0, fmt.Errorf("metrics: %s: image %d has a mask but no map", fn, i)
		case len(m.Pix) != m.H*m.W || len(mask.Pix) != mask.H*mask.W:
			return nil, nil, 0, fmt.Errorf("metrics: %s: image %d: map or mask size does not match its pixel count", fn, i)
		case m.H != mask.H || m.W != mask.W:
			return nil, nil, 0, fmt.Errorf("metrics: %s: image %d: map is %dx%d but mask is %dx%d", fn, i, m.H, m.W, mask.H, mask.W)
		}
		n += len(m.Pix)
	}
	if n == 0 {
		return nil, nil, 0, fmt.Errorf("metrics: %s: none of %d images has a mask: %w", fn, len(masks), data.ErrNoMask)
	}
	type pixel struct {
		v   float64
		pos bool
	}
	px := make([]pixel, 0, n)
	for i, mask := range masks {
		if mask == nil {
			continue
		}
		for j, v := range maps[i].Pix {
			if math.IsNaN(float64(v)) {
				return nil, nil, 0, fmt.Errorf("metrics: %s: map %d is NaN at row %d, column %d", fn, i, j/maps[i].W, j%maps[i].W)
			}
			pos := mask.Pix[j] > maskLevel
			if pos {
				nPos++
			}
			px = append(px, pixel{float64(v), pos})
		}
	}
	slices.SortFunc(px, func(a, b pixel) int { return cmp.Compare(a.v, b.v) })
	y = make([]float64, n)
	classes = make([]bool, n)
	for i, p := range px {
		y[i], classes[i] = p.v, p.pos
	}
	return y, classes, nPos, nil
}

// PixelAUROC returns the area under the ROC curve of anomaly maps as
// detectors of annotated pixels, pooled over all pixels of all images that
// have a mask (images whose mask is nil are skipped). A mask pixel above 0.5
// is anomalous. Ties count one half, as in AUC. The cost is O(P log P) in
// the number P of pooled pixels.
//
// PixelAUROC returns an error naming the image if a map is missing, differs
// in size from its mask or holds a NaN, an error wrapping data.ErrNoMask if
// no image has a mask, and ErrNoNormal or ErrNoAnomalous if the masks hold
// no pixel of a class. It panics if maps and masks differ in length.
func PixelAUROC(maps, masks []*data.Image) (float64, error) {
	y, classes, nPos, err := pixels("PixelAUROC", maps, masks)
	if err != nil {
		return math.NaN(), err
	}
	switch {
	case nPos == 0:
		return math.NaN(), fmt.Errorf("metrics: PixelAUROC: %w", ErrNoAnomalous)
	case nPos == len(y):
		return math.NaN(), fmt.Errorf("metrics: PixelAUROC: %w", ErrNoNormal)
	}
	tpr, fpr, _ := stat.ROC(nil, y, classes, nil)
	return integrate.Trapezoidal(fpr, tpr), nil
}

// BestDice returns the best global Dice overlap 2|A∩M| / (|A| + |M|)
// between the thresholded anomaly maps A = {map >= threshold} and the
// annotations M, pooled over all images that have a mask, and the
// threshold that attains it. Every distinct map value is tried as the
// threshold (a superset of any set of quantiles), so the maximum is exact;
// among equal Dice values the highest threshold wins. The cost is
// O(P log P) in the number P of pooled pixels.
//
// BestDice returns the same errors as PixelAUROC, except that masks without
// normal pixels are allowed.
func BestDice(maps, masks []*data.Image) (dice, threshold float64, err error) {
	y, classes, nPos, err := pixels("BestDice", maps, masks)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	if nPos == 0 {
		return math.NaN(), math.NaN(), fmt.Errorf("metrics: BestDice: %w", ErrNoAnomalous)
	}
	// Walk from the highest value down; after the last of a run of ties,
	// the called set is every pixel seen so far.
	var tp int
	dice, threshold = -1, math.Inf(1)
	for i := len(y) - 1; i >= 0; i-- {
		if classes[i] {
			tp++
		}
		if i > 0 && y[i-1] == y[i] {
			continue
		}
		called := len(y) - i
		d := 2 * float64(tp) / float64(called+nPos)
		if d > dice {
			dice, threshold = d, y[i]
		}
	}
	return dice, threshold, nil
}
