// RUN: lathe-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{#lathe.target<"x">: threads must be >= 0 (0: not fixed), got -1}}
module attributes {lathe.target = #lathe.target<name = "x", threads = -1, features = [], tables = {}>} {
}

// -----

// expected-error @+1 {{#lathe.target<"x">: table 'lowrank' must be a dictionary, got 3 : i64}}
module attributes {lathe.target = #lathe.target<name = "x", threads = 0, features = [], tables = {lowrank = 3 : i64}>} {
}

// -----

// expected-error @+1 {{#lathe.target<"x">: features must be strings, got 1 : i64}}
module attributes {lathe.target = #lathe.target<name = "x", threads = 0, features = [1 : i64], tables = {}>} {
}

// -----

// expected-error @+1 {{#lathe.target needs a non-empty name}}
module attributes {lathe.target = #lathe.target<name = "", threads = 0, features = [], tables = {}>} {
}

// -----

// expected-error @+1 {{'lathe.target' must be a #lathe.target<...>, got "cpu"}}
module attributes {lathe.target = "cpu"} {
}
