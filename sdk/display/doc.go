// Package display provides notebook output for anogo: tables, plots, image
// grids and a live training progress bar, shown inline when the program runs
// as a GoNB (Go Jupyter kernel) cell.
//
// Every function does nothing outside a notebook, so library code (a training
// loop, an evaluation) can call them freely; the one exception is Progress,
// which then writes a text bar to an io.Writer (os.Stderr unless told
// otherwise): one line redrawn in place on a terminal, a plain line every
// few seconds on a file or a pipe. Whether the program runs in a notebook is decided once, at
// start, by github.com/janpfeifer/gonb/gonbui (IsNotebook).
//
// Grey images are shown as in the AnoGAN paper's figures (Schlegl et al.
// 2017, Sec. 3): values in [-1, 1] mapped linearly to 0..255.
//
// TableHTML, Grid and the Progress text line are plain functions of their
// input, usable (and tested) outside a notebook.
package display
