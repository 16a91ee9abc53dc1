package main
import (
 _ "github.com/gofiber/fiber/v2"
 _ "github.com/valyala/fasthttp"
 _ "github.com/sony/gobreaker/v2"
 _ "github.com/patrickmn/go-cache"
 _ "github.com/brianvoe/gofakeit/v6"
 _ "go.uber.org/zap"
 _ "github.com/getkin/kin-openapi/openapi3"
 _ "github.com/golang-jwt/jwt/v5"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "golang.org/x/sync/singleflight"
 _ "go.uber.org/goleak"
 _ "github.com/MicahParks/keyfunc/v3"
 _ "github.com/google/uuid"
 _ "gopkg.in/yaml.v3"
)
func main(){}
