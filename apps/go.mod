module github.com/edw-project/edw/apps

go 1.26.8
