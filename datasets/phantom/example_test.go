package phantom_test

import (
	"fmt"

	"github.com/anogo/anogo/datasets/phantom"
	"github.com/anogo/anogo/sdk/data"
)

func ExampleOpen() {
	src, err := phantom.Open("seed=3,train=20,val=0,test=10")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(src.Splits())
	test, err := data.Collect(src, data.Test, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(test[1].ID, test[1].Label, test[1].Image.W, test[1].Image.H)
	fmt.Println(len(data.Filter(test, data.Anomalous)), "of", len(test), "test scans are anomalous")
	// Output:
	// [train test]
	// phantom:test/1 1 256 128
	// 5 of 10 test scans are anomalous
}

func ExampleGenerateKinds() {
	sc, err := phantom.GenerateKinds(phantom.DefaultConfig(), data.Test, 0, phantom.SubretinalFluid)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sc.ID, sc.Label, sc.Kinds)
	// Output:
	// phantom:test/0 1 [subretinal-fluid]
}
