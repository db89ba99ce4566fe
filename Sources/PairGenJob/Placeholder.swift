enum PairGenJobPlaceholder {}
