package phantom

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Config fixes a phantom data set. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// Seed selects the data set: the same seed gives the same pixels.
	Seed uint64
	// Width and Height are the size of a B-scan in pixels (columns, rows);
	// both must lie in [64, 4096]. The anatomy scales with Height.
	Width, Height int
	// Train, Val and Test are the numbers of scans in each split; a split of
	// size 0 is left out of Splits.
	Train, Val, Test int
	// AnomalyFraction is the fraction of anomalous scans in val and test, in
	// [0, 1].
	AnomalyFraction float64
	// Contamination is the fraction of anomalous scans in train, in [0, 1].
	// 0 gives the clean one-class training set of the AnoGAN paper; larger
	// values give a contaminated training set (its anomalous scans are
	// labelled 1, but one-class training ignores labels).
	Contamination float64
}

// DefaultConfig returns the configuration of the source named "phantom":
// seed 1, 256x128 scans, 200 normal training scans, 40 validation and 100
// test scans of which half are anomalous.
func DefaultConfig() Config {
	return Config{
		Seed:            1,
		Width:           256,
		Height:          128,
		Train:           200,
		Val:             40,
		Test:            100,
		AnomalyFraction: 0.5,
	}
}

// Size limits of a scan.
const (
	minSide = 64
	maxSide = 4096
)

// Validate returns an error naming the first field that is out of range.
func (c Config) Validate() error {
	if c.Width < minSide || c.Width > maxSide || c.Height < minSide || c.Height > maxSide {
		return fmt.Errorf("phantom: scan size %dx%d (width x height) out of range [%d, %d]", c.Width, c.Height, minSide, maxSide)
	}
	if c.Train < 0 || c.Val < 0 || c.Test < 0 {
		return fmt.Errorf("phantom: negative split size (train=%d, val=%d, test=%d)", c.Train, c.Val, c.Test)
	}
	if c.Train+c.Val+c.Test == 0 {
		return fmt.Errorf("phantom: all splits are empty")
	}
	if !(c.AnomalyFraction >= 0 && c.AnomalyFraction <= 1) {
		return fmt.Errorf("phantom: anomaly fraction %v not in [0, 1]", c.AnomalyFraction)
	}
	if !(c.Contamination >= 0 && c.Contamination <= 1) {
		return fmt.Errorf("phantom: contamination %v not in [0, 1]", c.Contamination)
	}
	return nil
}

// String writes c in the option syntax that Open reads, every key present.
func (c Config) String() string {
	return fmt.Sprintf("seed=%d,width=%d,height=%d,train=%d,val=%d,test=%d,anomalies=%s,contamination=%s",
		c.Seed, c.Width, c.Height, c.Train, c.Val, c.Test,
		strconv.FormatFloat(c.AnomalyFraction, 'g', -1, 64),
		strconv.FormatFloat(c.Contamination, 'g', -1, 64))
}

// optionKeys lists the keys ParseConfig knows, in the order String writes them.
var optionKeys = []string{"seed", "width", "height", "train", "val", "test", "anomalies", "contamination"}

// ParseConfig reads options such as
// "seed=3,train=200,test=100,width=256,height=128,anomalies=0.5,contamination=0.1"
// on top of DefaultConfig. Keys are seed, width, height, train, val, test,
// anomalies (Config.AnomalyFraction) and contamination; the empty string
// gives DefaultConfig. An unknown key, a key given twice, a malformed value
// or a configuration that fails Validate is an error.
func ParseConfig(opts string) (Config, error) {
	c := DefaultConfig()
	opts = strings.TrimSpace(opts)
	if opts == "" {
		return c, nil
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(opts, ",") {
		kv = strings.TrimSpace(kv)
		key, val, ok := strings.Cut(kv, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			return c, fmt.Errorf("phantom: option %q: want key=value", kv)
		}
		if seen[key] {
			return c, fmt.Errorf("phantom: option %q: key %q given twice", kv, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "seed":
			c.Seed, err = strconv.ParseUint(val, 10, 64)
		case "width":
			c.Width, err = strconv.Atoi(val)
		case "height":
			c.Height, err = strconv.Atoi(val)
		case "train":
			c.Train, err = strconv.Atoi(val)
		case "val":
			c.Val, err = strconv.Atoi(val)
		case "test":
			c.Test, err = strconv.Atoi(val)
		case "anomalies":
			c.AnomalyFraction, err = strconv.ParseFloat(val, 64)
		case "contamination":
			c.Contamination, err = strconv.ParseFloat(val, 64)
		default:
			return c, fmt.Errorf("phantom: option %q: unknown key %q (known: %s)", kv, key, strings.Join(optionKeys, ", "))
		}
		if err != nil {
			return c, fmt.Errorf("phantom: option %q: bad value: %w", kv, err)
		}
	}
	return c, c.Validate()
}

// anomalousCount is the number of anomalous scans among the first n of a
// split with anomaly fraction f. Sample i is anomalous exactly when
// anomalousCount(i+1) > anomalousCount(i), so every prefix of a split holds
// the fraction f (to within one scan) and a split of n scans holds
// floor(n*f) anomalous ones. The small constant absorbs rounding in n*f.
func anomalousCount(n int, f float64) int {
	return int(math.Floor(float64(n)*f + 1e-9))
}
