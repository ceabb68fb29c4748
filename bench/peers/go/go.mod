module aqpeer

go 1.19
