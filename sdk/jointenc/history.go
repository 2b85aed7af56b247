package jointenc

import "github.com/anogo/anogo/sdk/train"

// History is the training record kept with the model and its checkpoints
// (train.History: every loss of every step, by name).
type History = train.History
