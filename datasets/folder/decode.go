package folder

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers JPEG
	_ "image/png"  // registers PNG
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	_ "golang.org/x/image/bmp"  // registers BMP
	_ "golang.org/x/image/tiff" // registers TIFF

	"github.com/anogo/anogo/datasets/dicom"
	"github.com/anogo/anogo/datasets/internal/pixel"
	"github.com/anogo/anogo/sdk/data"
)

// MaxPixels bounds the pixels of one image: what an image header may claim
// (checked before the image is decoded, so a small PNG cannot claim
// gigabytes) and the size=S option (S x S). The default, 2^25 (5792 x
// 5792; decoding a 16-bit colour image of that size takes 400 MB), can be
// raised with the environment variable ANOGO_MAX_PIXELS.
var MaxPixels = data.EnvLimit("ANOGO_MAX_PIXELS", 1<<25)

// checkPixels refuses an image of w x h pixels above MaxPixels.
func checkPixels(what string, w, h int) error {
	if n := int64(w) * int64(h); n > MaxPixels {
		return &data.LimitError{What: fmt.Sprintf("%s of %d x %d", what, w, h), N: n, Limit: MaxPixels, Unit: "pixels",
			Env: "ANOGO_MAX_PIXELS", Var: "folder.MaxPixels"}
	}
	return nil
}

// Extensions lists the file extensions taken as images (any case); other
// files in a folder are skipped.
var Extensions = []string{".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".dicom"}

// isImageName reports whether a file name has one of Extensions and is not
// hidden.
func isImageName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range Extensions {
		if ext == e {
			return true
		}
	}
	return false
}

// Decode decodes a PNG, JPEG, TIFF or BMP image to grey values in [-1, 1]:
// 8-bit grey with v/127.5 - 1, 16-bit grey with v/32767.5 - 1, colour
// reduced to ITU-R 601 luma first (pixel.Luma, with alpha ignored) and
// scaled at its bit depth. A header claiming more than MaxPixels pixels is
// refused before decoding.
func Decode(b []byte) (*data.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a readable PNG, JPEG, TIFF or BMP image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s header claims %dx%d pixels", format, cfg.Width, cfg.Height)
	}
	if err := checkPixels(format+" header claims an image", cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", format, err)
	}
	return grey(img), nil
}

// grey converts a decoded image to grey values in [-1, 1].
func grey(img image.Image) *data.Image {
	r := img.Bounds()
	im := data.NewImage(r.Dy(), r.Dx())
	switch m := img.(type) {
	case *image.Gray:
		for y := range im.H {
			row := m.Pix[y*m.Stride : y*m.Stride+im.W]
			for x, v := range row {
				im.Pix[y*im.W+x] = pixel.Scale8(v)
			}
		}
	case *image.Gray16:
		for y := range im.H {
			for x := range im.W {
				i := y*m.Stride + 2*x
				im.Pix[y*im.W+x] = pixel.Scale16(uint16(m.Pix[i])<<8 | uint16(m.Pix[i+1]))
			}
		}
	case *image.NRGBA:
		for y := range im.H {
			for x := range im.W {
				i := y*m.Stride + 4*x
				l := pixel.Luma(float64(m.Pix[i]), float64(m.Pix[i+1]), float64(m.Pix[i+2]))
				im.Pix[y*im.W+x] = pixel.Scale(l, 8)
			}
		}
	default:
		for y := range im.H {
			for x := range im.W {
				c := color.NRGBA64Model.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA64)
				l := pixel.Luma(float64(c.R), float64(c.G), float64(c.B))
				im.Pix[y*im.W+x] = pixel.Scale(l, 16)
			}
		}
	}
	return im
}

// DecodeMask decodes a mask image: 1 where any colour channel is non-zero,
// 0 elsewhere.
func DecodeMask(b []byte) (*data.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a readable PNG, JPEG, TIFF or BMP mask: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s header claims %dx%d pixels", format, cfg.Width, cfg.Height)
	}
	if err := checkPixels(format+" header claims an image", cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decoding %s mask: %w", format, err)
	}
	r := img.Bounds()
	m := data.NewImage(r.Dy(), r.Dx())
	for y := range m.H {
		for x := range m.W {
			c := color.NRGBA64Model.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA64)
			if c.R != 0 || c.G != 0 || c.B != 0 {
				m.Pix[y*m.W+x] = 1
			}
		}
	}
	return m, nil
}

// readImage reads and decodes one image file (DICOM by extension, else
// PNG/JPEG/TIFF/BMP by content); errors name the file.
func readImage(path string, mask bool) (*data.Image, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	ext := strings.ToLower(filepath.Ext(path))
	var im *data.Image
	switch {
	case ext == ".dcm" || ext == ".dicom":
		if mask {
			return nil, fmt.Errorf("folder: %s: DICOM masks are not supported", path)
		}
		im, err = dicom.Decode(b)
	case mask:
		im, err = DecodeMask(b)
	default:
		im, err = Decode(b)
	}
	if err != nil {
		return nil, fmt.Errorf("folder: %s: %w", path, err)
	}
	return im, nil
}

// maxFileSize bounds the size of one image file.
const maxFileSize = 1 << 30

func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("folder: %s: %d bytes, more than the %d this loader reads", path, st.Size(), maxFileSize)
	}
	f, err := data.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("folder: %s: more than the %d bytes this loader reads", path, maxFileSize)
	}
	return b, nil
}

// Resize returns im resized to h x w by bilinear interpolation, sampling
// the source at pixel centres: the output pixel (y, x) reads the source at
// ((y+0.5)·H/h - 0.5, (x+0.5)·W/w - 0.5), clamped to the image. There is no
// low-pass filter, so strong reductions alias. It panics if h or w is not
// positive.
func Resize(im *data.Image, h, w int) *data.Image {
	out := data.NewImage(h, w)
	sy, sx := float64(im.H)/float64(h), float64(im.W)/float64(w)
	for y := range h {
		fy := math.Max(0, math.Min((float64(y)+0.5)*sy-0.5, float64(im.H-1)))
		y0 := int(fy)
		y1 := min(y0+1, im.H-1)
		dy := float32(fy - float64(y0))
		for x := range w {
			fx := math.Max(0, math.Min((float64(x)+0.5)*sx-0.5, float64(im.W-1)))
			x0 := int(fx)
			x1 := min(x0+1, im.W-1)
			dx := float32(fx - float64(x0))
			top := im.At(y0, x0)*(1-dx) + im.At(y0, x1)*dx
			bot := im.At(y1, x0)*(1-dx) + im.At(y1, x1)*dx
			out.Pix[y*w+x] = top*(1-dy) + bot*dy
		}
	}
	return out
}

// ResizeNearest returns im resized to h x w by nearest-neighbour sampling
// (for masks, whose values must stay 0 or 1): the output pixel (y, x) takes
// the source pixel (floor((y+0.5)·H/h), floor((x+0.5)·W/w)). It panics if h
// or w is not positive.
func ResizeNearest(im *data.Image, h, w int) *data.Image {
	out := data.NewImage(h, w)
	for y := range h {
		sy := min(int((float64(y)+0.5)*float64(im.H)/float64(h)), im.H-1)
		for x := range w {
			sx := min(int((float64(x)+0.5)*float64(im.W)/float64(w)), im.W-1)
			out.Pix[y*w+x] = im.At(sy, sx)
		}
	}
	return out
}

var errEmpty = errors.New("no images")
