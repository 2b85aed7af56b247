// Package notebooks provides what anogo's Jupyter notebooks (the *.ipynb
// files of this folder, run by the GoNB kernel) share, so that their cells
// stay a few lines long: the setting chosen by the ANOGO_SETTING
// environment variable, the repository's out/ folders, a training hook that
// draws a live progress bar, showing a figure inline while saving it as PNG,
// SVG and PDF, tables side by side, and the published numbers the notebooks
// compare with.
//
// The notebooks call the experiment API (package anogan) directly; this
// package holds only the glue. Its test runs the quickstart notebook's
// calls with a tiny setting, so that go test exercises what the notebooks
// call.
package notebooks
