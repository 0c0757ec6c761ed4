linalg.transpose ins(%a : f32) outs(%e : f32) permutation = [x]
