// Package all registers every method of anogo with package detector. Import
// it for its side effect:
//
//	import _ "github.com/anogo/anogo/sdk/detector/all"
//
// A new method adds its package's import here.
package all

import (
	_ "github.com/anogo/anogo/sdk/acae"     // acae
	_ "github.com/anogo/anogo/sdk/anogan"   // anogan
	_ "github.com/anogo/anogo/sdk/dpa"      // dpa
	_ "github.com/anogo/anogo/sdk/fanogan"  // fanogan
	_ "github.com/anogo/anogo/sdk/hqanogan" // hqanogan
	_ "github.com/anogo/anogo/sdk/jointenc" // jointenc
)
