module aqecho

go 1.19
